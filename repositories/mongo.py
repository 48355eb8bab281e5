"""The Motor client, the embedded-server fallback, index and schema management, error mapping."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection, AsyncIOMotorDatabase
from pymongo import ASCENDING
from pymongo.errors import OperationFailure, PyMongoError

from core.logging import get_logger, redactor
from core.utils.errors import StorageError
from repositories.embedded import EmbeddedServer

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "IndexSpec",
    "SchemaStatus",
    "storage_errors",
]

SCHEMA_VERSION = 1
"""The schema version this code writes; bump it with a migration in `_migrate`."""

_Doc = dict[str, Any]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """An index a repository needs, declared next to that repository."""

    collection: str
    keys: tuple[tuple[str, int], ...]
    name: str
    unique: bool = False
    sparse: bool = False

    @classmethod
    def on(
        cls, collection: str, *fields: str, unique: bool = False, sparse: bool = False
    ) -> IndexSpec:
        keys = tuple((f, ASCENDING) for f in fields)
        name = "_".join(f"{f}_1" for f in fields)
        return cls(collection, keys, name, unique=unique, sparse=sparse)


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    found: int | None
    expected: int

    @property
    def current(self) -> bool:
        return self.found == self.expected


@contextlib.contextmanager
def storage_errors(operation: str) -> Iterator[None]:
    """Map every driver error raised inside the block to `StorageError(operation)`."""
    try:
        yield
    except PyMongoError as exc:
        raise StorageError(operation, f"{operation} failed: {redactor.redact(str(exc))}") from exc


class Database:
    """One Motor client and database; starts the embedded server when no URI is given."""

    def __init__(
        self,
        uri: str | None,
        name: str,
        *,
        data_dir: Path = Path("./data"),
        server_selection_timeout: float = 10.0,
    ) -> None:
        self._uri = uri
        self.name = name
        self.data_dir = data_dir
        self.server_selection_timeout = server_selection_timeout
        self.embedded: EmbeddedServer | None = None
        self._client: AsyncIOMotorClient[_Doc] | None = None

    @property
    def is_embedded(self) -> bool:
        return self._uri is None

    @property
    def started(self) -> bool:
        return self._client is not None

    @property
    def db(self) -> AsyncIOMotorDatabase[_Doc]:
        if self._client is None:
            raise RuntimeError("Database.start() has not been awaited")
        return self._client[self.name]

    def collection(self, name: str) -> AsyncIOMotorCollection[_Doc]:
        return self.db[name]

    async def start(self, *, timeout: float = 30.0) -> None:
        """Start the embedded server if needed and create the client (it connects lazily)."""
        if self._client is not None:
            return
        uri = self._uri
        if uri is None:
            self.embedded = EmbeddedServer(self.data_dir / "db")
            uri = await self.embedded.start(timeout=timeout)
            log.warning(
                "embedded_database_in_use",
                storage=str(self.embedded.storage_path),
                advice="fine for trying the bot and small deployments; use MongoDB/Atlas "
                "(DATABASE_URI) in production",
            )
        self._client = AsyncIOMotorClient(
            uri,
            serverSelectionTimeoutMS=int(self.server_selection_timeout * 1000),
            connectTimeoutMS=int(self.server_selection_timeout * 1000),
            tz_aware=True,
            appname="filesearch-bot",
        )

    async def close(self) -> None:
        """Close the client and stop the embedded server; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
        if self.embedded is not None:
            await self.embedded.stop()
            self.embedded = None

    async def ping(self) -> None:
        with storage_errors("ping"):
            await self.db.command("ping")

    async def ensure_indexes(self, specs: Sequence[IndexSpec]) -> None:
        for spec in specs:
            options: dict[str, Any] = {"name": spec.name}
            if spec.unique:
                options["unique"] = True
            if spec.sparse:
                options["sparse"] = True
            with storage_errors(f"create_index {spec.collection}.{spec.name}"):
                await self.collection(spec.collection).create_index(list(spec.keys), **options)

    async def missing_indexes(self, specs: Sequence[IndexSpec]) -> list[IndexSpec]:
        missing: list[IndexSpec] = []
        for spec in specs:
            with storage_errors(f"index_information {spec.collection}"):
                try:
                    info = await self.collection(spec.collection).index_information()
                except OperationFailure:
                    info = {}
            found = info.get(spec.name)
            if found is None or tuple(tuple(k) for k in found["key"]) != spec.keys:
                missing.append(spec)
        return missing

    async def schema_status(self) -> SchemaStatus:
        with storage_errors("read schema version"):
            doc = await self.collection("schema").find_one({"_id": "schema"})
        found = doc.get("version") if doc else None
        return SchemaStatus(found if isinstance(found, int) else None, SCHEMA_VERSION)

    async def ensure_schema(self) -> SchemaStatus:
        """Record the schema version on a new database; refuse one written by newer code."""
        status = await self.schema_status()
        if status.found is not None and status.found > SCHEMA_VERSION:
            raise StorageError(
                "schema",
                f"the database has schema v{status.found}, newer than this bot's "
                f"v{SCHEMA_VERSION}; upgrade the bot",
            )
        if status.found != SCHEMA_VERSION:
            await self._migrate(status.found)
            with storage_errors("write schema version"):
                await self.collection("schema").update_one(
                    {"_id": "schema"}, {"$set": {"version": SCHEMA_VERSION}}, upsert=True
                )
        return await self.schema_status()

    async def prepare(self, specs: Sequence[IndexSpec]) -> None:
        """Everything start-up does to the database: indexes, then the schema version."""
        await self.ensure_indexes(specs)
        await self.ensure_schema()

    async def _migrate(self, from_version: int | None) -> None:
        """Upgrade data written by an older schema; v1 is the first, so nothing to do yet."""
        log.info("schema_migration", from_version=from_version, to_version=SCHEMA_VERSION)

    async def drop(self) -> None:
        """Drop the whole database (tests and `bench/` only)."""
        if self._client is not None:
            with storage_errors("drop database"):
                await self._client.drop_database(self.name)

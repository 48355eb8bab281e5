"""The Motor client, the embedded-server fallback, index and schema management, error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection, AsyncIOMotorDatabase
from pymongo import ASCENDING, uri_parser
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from core.logging import get_logger, redactor
from core.traces import note_call
from core.utils.errors import StorageError
from repositories.embedded import DEFAULT_CACHE, EmbeddedServer

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "IndexSpec",
    "SchemaStatus",
    "describe_driver_error",
    "storage_errors",
]

SCHEMA_VERSION = 2  # v2: lean file documents (issue #12)
Migration = Callable[["Database"], Awaitable[None]]
"""Upgrades data in place to the version it is registered under; resumable (see migrations)."""
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


_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_TIMEOUT_OPTIONS = ("serverSelectionTimeoutMS", "connectTimeoutMS", "timeoutMS", "socketTimeoutMS")


def describe_driver_error(exc: PyMongoError) -> str:
    """A driver error in one short line: "cannot reach 127.0.0.1:1: connection refused"
    instead of the topology description (hundreds of characters) the driver puts in its
    message."""
    if isinstance(exc, AutoReconnect):  # ServerSelectionTimeoutError, NetworkTimeout, ...
        first = str(exc).split(" (configured timeouts", 1)[0].split(", Timeout:", 1)[0]
        where, _, why = first.partition(": ")
        why = _ERRNO.sub("", why).strip().rstrip(".").lower()
        if isinstance(exc, ServerSelectionTimeoutError) and not why:
            why = "no server answered in time"
        if why and " " not in where:
            return f"cannot reach {where}: {why}"
        return f"cannot reach the database: {why or first}"
    if getattr(exc, "timeout", False):
        return "the database did not answer in time"
    text = str(exc).split(", full error:", 1)[0]
    return text if len(text) <= 200 else text[:199] + "…"  # noqa: PLR2004 - one log line


@contextlib.contextmanager
def storage_errors(operation: str) -> Iterator[None]:
    """Map every driver error raised inside the block to `StorageError(operation)`; the
    operation and its duration go into the trace of the update being handled, if any."""
    began = time.perf_counter()
    try:
        yield
    except PyMongoError as exc:
        note_call("db", operation, time.perf_counter() - began, type(exc).__name__)
        reason = redactor.redact(describe_driver_error(exc))
        raise StorageError(operation, f"{operation} failed: {reason}") from exc
    note_call("db", operation, time.perf_counter() - began)


class Database:
    """One Motor client and database; starts the embedded server when no URI is given."""

    def __init__(
        self,
        uri: str | None,
        name: str,
        *,
        data_dir: Path = Path("./data"),
        server_selection_timeout: float = 10.0,
        operation_timeout: float | None = None,
        embedded_server: bool = False,
        embedded_cache: str = DEFAULT_CACHE,
    ) -> None:
        """`operation_timeout` (DATABASE_TIMEOUT) bounds every operation of the bot, so a
        database that stops answering costs a user seconds, not a worker for good; start-up
        work (`prepare`) is not bounded by it. `embedded_server`: the URI points at an
        embedded server somebody else started (the test harness)."""
        self._uri = uri
        self.name = name
        self.data_dir = data_dir
        self.server_selection_timeout = server_selection_timeout
        self.operation_timeout = operation_timeout
        self._embedded_server = embedded_server
        self._embedded_cache = embedded_cache
        self.embedded: EmbeddedServer | None = None
        self._client: AsyncIOMotorClient[_Doc] | None = None
        # The database and collection objects of `_client` (Motor builds new ones on every
        # lookup: 4 % of the event loop under inline load), dropped when the client changes.
        self._handles_of: AsyncIOMotorClient[_Doc] | None = None
        self._db: AsyncIOMotorDatabase[_Doc] | None = None
        self._collections: dict[str, AsyncIOMotorCollection[_Doc]] = {}
        self._uri_options = _uri_options(uri)

    @property
    def is_embedded(self) -> bool:
        return self._uri is None

    @property
    def description(self) -> str:
        """ "embedded" or "external", for `/stats` and the health check."""
        return "embedded" if self.is_embedded or self._embedded_server else "external"

    @property
    def started(self) -> bool:
        return self._client is not None

    @property
    def db(self) -> AsyncIOMotorDatabase[_Doc]:
        client = self._client
        if client is None:
            raise RuntimeError("Database.start() has not been awaited")
        if self._handles_of is not client or self._db is None:
            self._handles_of, self._db, self._collections = client, client[self.name], {}
        return self._db

    def collection(self, name: str) -> AsyncIOMotorCollection[_Doc]:
        database = self.db
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = database[name]
        return found

    async def sizes(self) -> tuple[int, int]:
        """(data bytes, index bytes) of this database, as `dbStats` reports them."""
        with storage_errors("database.sizes"):
            stats = await self.db.command("dbStats")
        return int(stats.get("dataSize", 0) or 0), int(stats.get("indexSize", 0) or 0)

    async def start(self, *, timeout: float = 30.0) -> None:
        """Start the embedded server if needed and create the client (it connects lazily)."""
        if self._client is not None:
            return
        uri = self._uri
        if uri is None:
            self.embedded = EmbeddedServer(self.data_dir / "db", cache_size=self._embedded_cache)
            uri = await self.embedded.start(timeout=timeout)
            log.warning(
                "embedded_database_in_use",
                storage=str(self.embedded.storage_path),
                advice="fine for trying the bot and small deployments; use MongoDB/Atlas "
                "(DATABASE_URI) in production",
            )
        self._client = self._new_client(uri, bounded=True)

    def _new_client(self, uri: str, *, bounded: bool) -> AsyncIOMotorClient[_Doc]:
        """A client with our timeouts, except where the URI sets its own (the operator's word
        wins: `?serverSelectionTimeoutMS=1000` is honoured)."""
        options: dict[str, Any] = {
            "serverSelectionTimeoutMS": int(self.server_selection_timeout * 1000),
            "connectTimeoutMS": int(self.server_selection_timeout * 1000),
        }
        if bounded and self.operation_timeout:
            bound = int(self.operation_timeout * 1000)
            if not self._uri_options:
                options["timeoutMS"] = bound  # the whole operation, retries included
            elif not self._uri_options & {"timeoutMS", "socketTimeoutMS"}:
                # The URI's own server selection timeout must stay exact, and timeoutMS would
                # keep retrying past it: bound each network read instead.
                options["socketTimeoutMS"] = bound
        for name in self._uri_options:
            options.pop(name, None)
        return AsyncIOMotorClient(uri, tz_aware=True, appname="filesearch-bot", **options)

    @property
    def uri(self) -> str:
        """The URI the client uses (the embedded server's once started)."""
        if self._uri is not None:
            return self._uri
        if self.embedded is None:
            raise RuntimeError("Database.start() has not been awaited")
        return self.embedded.uri

    async def close(self) -> None:
        """Close the client and stop the embedded server; safe to call twice."""
        client, self._client = self._client, None
        self._handles_of, self._db, self._collections = None, None, {}
        if client is not None:
            await _close(client)
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

    async def ensure_schema(
        self, migrations: Mapping[int, Migration] | None = None
    ) -> SchemaStatus:
        """Record the schema version on a new database, upgrade an older one with
        `migrations` (one per version, in order; none given: leave it for the bot's start-up
        and report it), and refuse one written by newer code."""
        status = await self.schema_status()
        if status.found is not None and status.found > SCHEMA_VERSION:
            raise StorageError(
                "schema",
                f"the database has schema v{status.found}, newer than this bot's "
                f"v{SCHEMA_VERSION}; upgrade the bot",
            )
        if status.found is None:
            await self._record_version(SCHEMA_VERSION)  # a new database
        elif status.found < SCHEMA_VERSION and migrations is not None:
            for version in range(status.found + 1, SCHEMA_VERSION + 1):
                log.info("schema_migration", from_version=version - 1, to_version=version)
                migration = migrations.get(version)
                if migration is not None:
                    await migration(self)
                await self._record_version(version)
        return await self.schema_status()

    async def downgrade(self, steps: int, downgrades: Mapping[int, Migration]) -> SchemaStatus:
        """Take the database back `steps` schema versions with `downgrades` (version → the
        migration from it to the version before), newest first, recording each version as it
        is reached."""
        for version in await self.downgrade_steps(steps, downgrades):
            log.info("schema_migration", from_version=version, to_version=version - 1)
            await downgrades[version](self)
            await self._record_version(version - 1)
        return await self.schema_status()

    async def downgrade_steps(self, steps: int, downgrades: Mapping[int, Migration]) -> list[int]:
        """The versions `downgrade` would leave, newest first; refused (StorageError) when a
        step has no downgrade or the database is not at this bot's version (a newer database
        needs the newer bot; an older one has nothing of this bot's to undo)."""
        status = await self.schema_status()
        if status.found != SCHEMA_VERSION:
            found = "no schema yet" if status.found is None else f"schema v{status.found}"
            raise StorageError(
                "schema", f"the database has {found}; this bot downgrades from v{SCHEMA_VERSION}"
            )
        target = SCHEMA_VERSION - steps
        missing = [v for v in range(SCHEMA_VERSION, target, -1) if v not in downgrades]
        if steps < 1 or target < 1 or missing:
            raise StorageError(
                "schema",
                f"cannot go back {steps} version(s) from v{SCHEMA_VERSION}: "
                f"downgrades exist for {', '.join(f'v{v}' for v in sorted(downgrades)) or 'none'}",
            )
        return list(range(SCHEMA_VERSION, target, -1))

    async def _record_version(self, version: int) -> None:
        with storage_errors("write schema version"):
            await self.collection("schema").update_one(
                {"_id": "schema"}, {"$set": {"version": version}}, upsert=True
            )

    async def prepare(
        self, specs: Sequence[IndexSpec], migrations: Mapping[int, Migration] | None = None
    ) -> None:
        """Everything start-up does to the database: indexes, then the schema version
        (migrating older data when `migrations` are given).

        Index builds and migrations on a large collection may take longer than
        DATABASE_TIMEOUT, so this runs on a client of its own without that bound (server
        selection is still bounded).
        """
        bounded, self._client = self._client, self._new_client(self.uri, bounded=False)
        try:
            await self.ensure_indexes(specs)
            await self.ensure_schema(migrations)
        finally:
            if self._client is not None:
                await _close(self._client)
            self._client = bounded

    async def drop(self) -> None:
        """Drop the whole database (tests and `bench/` only)."""
        if self._client is not None:
            with storage_errors("drop database"):
                await self._client.drop_database(self.name)


async def _close(client: AsyncIOMotorClient[_Doc]) -> None:
    """Motor's `close()` blocks: it ends server sessions over the network, synchronously. Off
    the event loop, so that a slow or unreachable database never freezes the bot (or anything
    else on the loop, such as a proxy in front of the database) while it shuts down."""
    await asyncio.to_thread(client.close)


def _uri_options(uri: str | None) -> frozenset[str]:
    """The timeout options a URI sets itself (case as the driver normalises them)."""
    if uri is None:
        return frozenset()
    try:
        options = uri_parser.parse_uri(uri, validate=False, warn=True)["options"]
    except (InvalidURI, ConfigurationError, ValueError):
        return frozenset()  # the driver reports a bad URI itself, when it is used
    wanted = {name.lower(): name for name in _TIMEOUT_OPTIONS}
    return frozenset(wanted[str(k).lower()] for k in options if str(k).lower() in wanted)

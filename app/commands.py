"""The operator's commands that are not the bot: `python bot.py reindex`, `migrate` and
`import`. Each opens the database itself, does its one thing and closes it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from app.build import build_database
from core.clock import SystemClock
from core.config import Settings
from core.telegram.fileid import unique_id_of
from repositories import ALL_INDEXES, DOWNGRADES, MIGRATIONS
from repositories.files import MongoFileRepository
from repositories.foreign import MongoSourceFiles
from repositories.jobs import MongoJobRepository
from repositories.mongo import Database
from services.importer import Importer, ImportProgress, ImportReport
from services.search_index import SearchIndexService

__all__ = [
    "ImportSourceError",
    "MigrationPlan",
    "import_files",
    "migrate_database",
    "rebuild_search_index",
]


async def rebuild_search_index(settings: Settings) -> None:
    """`python bot.py reindex`: a new full-text index in DATA_DIR/search from MongoDB (stop the
    bot that uses this DATA_DIR first; a running bot rebuilds a broken index by itself)."""
    database = build_database(settings)
    try:
        await database.start()
        await database.prepare(ALL_INDEXES, MIGRATIONS)
        search_index = SearchIndexService(
            MongoFileRepository(database), settings.data_dir / "search"
        )
        await search_index.rebuild()
        await search_index.close()
    finally:
        await database.close()


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    found: int | None  # the database's schema version (None: a new database)
    expected: int  # this bot's
    pending: tuple[tuple[int, str], ...]  # (version, what its migration does), in order
    down: bool = False  # `pending` are downgrades: (version left, what it does)


async def migrate_database(
    settings: Settings, *, apply: bool, down: int | None = None
) -> MigrationPlan:
    """`python bot.py migrate`: the schema version and the migrations still to run; with
    `apply`, run them (what the bot's start-up does anyway, before it serves anyone).
    `down`: instead go back that many versions (for rolling back to an older release; the
    bot itself would upgrade the database again when it starts)."""
    database = build_database(settings)
    try:
        await database.start()
        status = await database.schema_status()
        pending: tuple[tuple[int, str], ...] = ()
        if down is not None:
            versions = await database.downgrade_steps(down, DOWNGRADES)
            pending = tuple((v, _summary(DOWNGRADES[v])) for v in versions)
            if apply:
                await database.downgrade(down, DOWNGRADES)
            return MigrationPlan(status.found, status.expected, pending, down=True)
        if status.found is not None and status.found < status.expected:
            pending = tuple(
                (version, _summary(MIGRATIONS.get(version)))
                for version in range(status.found + 1, status.expected + 1)
            )
        if apply:
            await database.prepare(ALL_INDEXES, MIGRATIONS)
        return MigrationPlan(status.found, status.expected, pending)
    finally:
        await database.close()


def _summary(migration: object) -> str:
    doc = getattr(migration, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else "records the new version"


class ImportSourceError(Exception):
    """The source collection holds nothing to import (`collections`: what the database has)."""

    def __init__(self, collection: str, collections: list[str]) -> None:
        names = ", ".join(collections) if collections else "none"
        super().__init__(
            f"the source collection {collection!r} is empty or missing; "
            f"the database has these collections: {names} (see --from-collection)"
        )


async def import_files(
    settings: Settings,
    *,
    from_uri: str,
    from_db: str,
    from_collection: str,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """`python bot.py import`: copy an EvaMaria-family database's files into this bot's
    database (resumably; a running bot's search index picks them up within seconds)."""
    database = build_database(settings)
    # No per-operation bound on the source: its documents come through one long cursor.
    source_db = Database(from_uri, from_db)
    try:
        await database.start()
        await database.prepare(ALL_INDEXES, MIGRATIONS)
        await source_db.start()
        source = MongoSourceFiles(source_db, from_collection)
        if await source.first() is None:
            raise ImportSourceError(from_collection, await source.collections())
        importer = Importer(
            MongoFileRepository(database),
            MongoJobRepository(database),
            SystemClock(),
            unique_id_of=unique_id_of,
            skip_duplicates=settings.skip_duplicates,
        )
        key = hashlib.blake2b(
            f"{from_uri}\x00{from_db}\x00{from_collection}".encode(), digest_size=12
        ).hexdigest()
        return await importer.run(source, key, on_progress=on_progress)
    finally:
        await source_db.close()
        await database.close()

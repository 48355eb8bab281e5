"""Files are searchable as soon as they are stored; the accurate release-name parser completes
their metadata afterwards (in worker processes, resumably). Old tombstones are purged, and an
index further behind than the purge rebuilds instead of missing a delete."""

from __future__ import annotations

from pathlib import Path

from core.models import IncomingFile
from repositories import ALL_INDEXES
from repositories.files import MongoFileRepository
from repositories.mongo import Database
from services.indexing import IndexingService
from services.metadata import MetadataService
from services.search import SearchService, search_over_index
from services.search_index import SearchIndexService
from testkit.clock import VirtualClock
from tests.fakes import capture_events


def incoming(name: str, n: int) -> IncomingFile:
    return IncomingFile(f"u{n}", f"f{n}", name, 1_000_000 + n, "video/x-matroska", None, -100, n)


async def engine(
    database: Database, directory: Path, clock: VirtualClock
) -> tuple[MongoFileRepository, SearchService, IndexingService]:
    await database.prepare(ALL_INDEXES)
    files = MongoFileRepository(database, now=clock.now)

    search = search_over_index(files, clock, directory, tombstone_days=7)
    await search.index.start()
    return files, search, IndexingService(files, search, clock)


async def ids(search: SearchService, text: str) -> list[str]:
    return [f.id for f in (await search.search(text)).items]


async def test_a_file_is_searchable_before_the_parser_reads_it(
    database: Database, tmp_path: Path
) -> None:
    clock = VirtualClock()
    files, search, indexing = await engine(database, tmp_path / "search", clock)
    await indexing.index([incoming("FooBar.0307.720p.HDTV.mkv", 1)])
    assert await ids(search, "foobar") == ["u1"]  # the fast pass: found by its words at once
    assert await ids(search, "foobar s03e07") == []  # the episode needs the accurate parser
    assert await files.count_metadata_pending() == 1

    metadata = MetadataService(files, workers=1, on_changed=search.changed)  # a real process
    try:
        with capture_events() as events:
            assert await metadata.complete_pending() == 1
    finally:
        await metadata.close()
    assert await files.count_metadata_pending() == 0
    assert await ids(search, "foobar s03e07") == ["u1"]
    progress = next(e for e in events if e["event"] == "metadata_progress")
    assert (progress["done"], progress["pending"]) == (1, 0)
    await search.index.close()


async def test_old_tombstones_are_purged_and_a_lagging_index_rebuilds(
    database: Database, tmp_path: Path
) -> None:
    clock = VirtualClock()
    files, search, indexing = await engine(database, tmp_path / "a", clock)
    await indexing.index([incoming("Alien.1979.mkv", 1), incoming("Aliens.1986.mkv", 2)])
    lagging = SearchIndexService(files, tmp_path / "b")  # another instance, then stopped
    await lagging.start()  # beside an existing library: rebuilt from MongoDB
    await lagging.wait_rebuilt()
    assert lagging.watermark == await files.last_sequence()
    await lagging.close()

    assert await indexing.remove_message(-100, 1)
    assert await search.index.purge(clock) == 0  # a fresh tombstone is kept
    clock.advance(8 * 86_400)
    assert await indexing.remove_message(-100, 2)  # a newer delete, kept by the purge
    with capture_events() as events:
        assert await search.index.purge(clock) == 1
    assert any(e["event"] == "search_tombstones_purged" for e in events)
    changes = await files.changes_since(0, 100)
    assert changes.deletes == ("u2",)  # the purged delete is gone from the feed

    with capture_events() as events:
        restarted = SearchIndexService(files, tmp_path / "b")
        await restarted.start()  # behind the purge: it cannot know about u1, so it rebuilds
        await restarted.wait_rebuilt()
    warning = next(e for e in events if e["event"] == "search_index_rebuild")
    assert "purged" in warning["reason"]
    assert await restarted.search(["alien"]) == []
    await restarted.close()
    await search.index.close()

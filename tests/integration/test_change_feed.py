"""The files' change feed on a real database: every write that changes a file gets the next
number, deletes leave tombstones, and a reader catches up from any number it remembers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.models import IncomingFile
from repositories import ALL_INDEXES
from repositories.files import MongoFileRepository
from repositories.mongo import Database
from services.indexing import IndexingService
from services.search import search_over_index
from testkit.clock import VirtualClock


def incoming(name: str, n: int, caption: str | None = None) -> IncomingFile:
    return IncomingFile(f"u{n}", f"f{n}", name, 1_000_000 + n, "video/x-matroska", caption, -100, n)


@pytest.fixture
async def parts(database: Database, tmp_path: Path) -> tuple[MongoFileRepository, IndexingService]:
    await database.prepare(ALL_INDEXES)
    clock = VirtualClock()
    files = MongoFileRepository(database, now=clock.now)
    search = search_over_index(files, clock, tmp_path / "search")
    return files, IndexingService(files, search, clock, use_guessit=False)


async def test_a_new_database_has_no_changes(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    files, _ = parts
    assert await files.last_sequence() == 0
    changes = await files.changes_since(0, 100)
    assert (changes.upserts, changes.deletes, changes.last) == ((), (), 0)


async def test_writes_are_numbered_and_read_back_in_order(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    files, indexing = parts
    await indexing.index([incoming("Heat.1995.mkv", 1), incoming("Ronin.1998.mkv", 2)])
    await indexing.index([incoming("Alien.1979.mkv", 3)])
    assert await files.last_sequence() == 3
    everything = await files.changes_since(0, 100)
    assert [f.file_name for f in everything.upserts] == [
        "Heat.1995.mkv",
        "Ronin.1998.mkv",
        "Alien.1979.mkv",
    ]
    assert everything.last == 3
    later = await files.changes_since(2, 100)
    assert [f.file_name for f in later.upserts] == ["Alien.1979.mkv"]
    page = await files.changes_since(0, 2)
    assert [f.id for f in page.upserts] == ["u1", "u2"]
    assert page.last == 2


async def test_the_same_post_again_is_not_a_change(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    files, indexing = parts
    await indexing.index([incoming("Heat.1995.mkv", 1)])
    report = await indexing.index([incoming("Heat.1995.mkv", 1)])
    assert report.duplicates == 1
    assert await files.last_sequence() == 1
    edited = await indexing.index([incoming("Heat.1995.mkv", 1, caption="Director's cut")])
    assert edited.updated == 1
    changes = await files.changes_since(1, 100)
    assert [(f.id, f.caption) for f in changes.upserts] == [("u1", "Director's cut")]


async def test_a_files_own_gate_is_a_change(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    files, indexing = parts
    await indexing.index([incoming("Heat.1995.mkv", 1), incoming("Ronin.1998.mkv", 2)])
    assert await files.set_premium("u1", "premium")
    changes = await files.changes_since(2, 100)
    assert [(f.id, f.premium) for f in changes.upserts] == [("u1", "premium")]
    assert await files.set_premium("u1", None)
    changes = await files.changes_since(changes.last, 100)
    assert [(f.id, f.premium) for f in changes.upserts] == [("u1", None)]
    assert not await files.set_premium("gone", "free")  # no such file: no change to read
    assert (await files.changes_since(changes.last, 100)).upserts == ()


async def test_deletes_leave_tombstones_and_the_newest_change_wins(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    files, indexing = parts
    await indexing.index([incoming("Heat.1995.mkv", 1), incoming("Ronin.1998.mkv", 2)])
    assert await indexing.remove_message(-100, 1)
    changes = await files.changes_since(0, 100)
    assert [f.id for f in changes.upserts] == ["u2"]
    assert changes.deletes == ("u1",)
    assert changes.last == 3
    # Indexed again after the delete: one upsert, no delete.
    record = indexing.build(incoming("Heat.1995.mkv", 1))
    assert record is not None
    await files.save_many([replace(record, caption="back")])
    again = await files.changes_since(2, 100)
    assert ([f.id for f in again.upserts], again.deletes) == (["u1"], ())
    assert await files.delete("u2")
    assert (await files.changes_since(4, 100)).deletes == ("u2",)


async def test_a_post_edited_to_carry_another_file_replaces_it(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    files, indexing = parts
    await indexing.index([incoming("Heat.1995.mkv", 1)])
    replacement = replace(incoming("Heat.1995.Remastered.mkv", 1), unique_id="u9")
    report = await indexing.edited(replacement)
    assert report.inserted == 1
    assert await files.get("u1") is None
    found = await files.at_message(-100, 1)
    assert found is not None
    assert found.id == "u9"
    changes = await files.changes_since(0, 100)
    assert changes.deletes == ("u1",)


async def test_a_scan_reads_every_file_by_windows_oldest_or_newest_first(
    parts: tuple[MongoFileRepository, IndexingService],
) -> None:
    """What a rebuild reads: every file once, by windows of change numbers; newest first (as
    the index is rebuilt), each window's files from the highest number."""
    files, indexing = parts
    await indexing.index([incoming(f"Part.{n:02d}.mkv", n) for n in range(1, 8)])
    await indexing.delete(["u4"])  # a gap: a tombstone, no file
    oldest = [[f.id for f in page] async for page in files.scan(3)]
    assert oldest == [["u1", "u2", "u3"], ["u5", "u6"], ["u7"]]
    newest = [[f.id for f in page] async for page in files.scan(3, newest_first=True)]
    assert newest == [["u7"], ["u6", "u5"], ["u3", "u2", "u1"]]

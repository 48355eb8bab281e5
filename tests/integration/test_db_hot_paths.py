"""Every repository method round-trips on the real database, and the hot queries use an index
and examine a number of keys/documents that does not grow with the collection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.models import FileRecord
from core.reuploads import name_hash
from core.search.metadata import FileMetadata
from core.search.normalize import name_terms
from repositories import ALL_INDEXES
from repositories.chats import MongoChatRepository
from repositories.deletions import MongoDeletionRepository
from repositories.files import MongoFileRepository
from repositories.jobs import MongoJobRepository
from repositories.links import MongoLinkRepository
from repositories.mongo import Database
from repositories.settings import MongoSettingsRepository
from repositories.users import MongoUserRepository

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def record(n: int, name: str | None = None, size: int | None = None) -> FileRecord:
    name = name or f"File {n}.mkv"
    terms, key = name_terms(name)
    return FileRecord(
        id=f"u{n}",
        file_id=f"f{n}",
        file_name=name,
        file_size=size or 1000 + n,
        mime_type="video/x-matroska",
        file_type="video",
        caption=None,
        chat_id=-1002200000001,
        message_id=n,
        terms=terms,
        title="file",
        title_terms=("file",),
        indexed_at=NOW,
        name_key=key,
    )


@pytest.fixture
async def prepared(database: Database) -> Database:
    await database.prepare(ALL_INDEXES)
    return database


async def test_files_round_trip_and_batch_counts(prepared: Database) -> None:
    files = MongoFileRepository(prepared)
    first = await files.save_many([record(1, "Dark City.mkv"), record(2, "Dark Star.mkv")])
    assert (first.inserted, first.updated, first.duplicates) == (2, 0, 0)
    again = await files.save_many(
        [record(1, "Dark City.mkv"), replace(record(2, "Dark Star.mkv"), caption="new")]
    )
    assert (again.inserted, again.updated, again.duplicates) == (0, 1, 1)
    reupload = await files.save_many([replace(record(3, "dark.city.mkv"), file_size=1001)])
    assert (reupload.inserted, reupload.duplicate_ids) == (0, ("u3",))
    allowed = await files.save_many(
        [replace(record(3, "dark.city.mkv"), file_size=1001)], skip_same_name_and_size=False
    )
    assert allowed.inserted == 1

    got = await files.get("u1")
    assert got == record(1, "Dark City.mkv")
    assert got is not None
    assert got.terms == ("dark", "city", "darkcity")
    assert [f.id for f in await files.get_many(["u2", "missing", "u1"])] == ["u2", "u1"]
    assert await files.count() == 3

    assert await files.delete("u2") is True
    assert await files.delete("u2") is False
    assert await files.delete_message(-1002200000001, 1) is True
    assert await files.delete_message(-1002200000001, 1) is False
    assert await files.count() == 1


async def test_file_documents_are_lean(prepared: Database) -> None:
    """What MongoDB holds of a file: no search arrays, no empty fields, an 8-byte name digest
    for duplicate detection, the caption cut to what Telegram shows."""
    files = MongoFileRepository(prepared)
    long_caption = "x" * 5000
    await files.save_many([replace(record(1, "Dark.City.1998.mkv"), caption=long_caption)])
    doc = await prepared.collection("files").find_one({"_id": "u1"})
    assert doc is not None
    assert set(doc) == {
        "_id",
        "file_id",
        "file_name",
        "file_size",
        "mime_type",
        "file_type",
        "caption",
        "chat_id",
        "message_id",
        "title",
        "indexed_at",
        "dup",
        "seq",
    }
    assert doc["dup"] == name_hash("dark city 1998")
    assert len(doc["caption"]) == 1024
    assert await prepared.collection("vocab").count_documents({}) == 0


async def test_premium_gate_survives_a_new_post_of_the_file(prepared: Database) -> None:
    files = MongoFileRepository(prepared)
    await files.save_many([record(1)])
    assert await files.set_premium("u1", "premium")
    await files.save_many([replace(record(1), message_id=77, caption="again")])
    got = await files.get("u1")
    assert got is not None
    assert (got.premium, got.message_id, got.caption) == (
        "premium",
        77,
        "again",
    )
    assert await files.set_premium("u1", None)
    got = await files.get("u1")
    assert got is not None
    assert got.premium is None


async def test_metadata_completion_renumbers_only_changed_files(prepared: Database) -> None:
    files = MongoFileRepository(prepared)
    await files.save_many(
        [replace(record(1), metadata_pending=True), replace(record(2), metadata_pending=True)]
    )
    assert await files.count_metadata_pending() == 2
    before = await files.last_sequence()
    changed = ("u1", FileMetadata("file one", ("file", "one"), year=1999, language="English"))
    same = ("u2", FileMetadata("file", ("file",)))
    assert await files.complete_metadata([changed, same]) == 2
    assert await files.count_metadata_pending() == 0
    assert await files.last_sequence() == before + 1  # only the file whose metadata changed
    got = await files.get("u1")
    assert got is not None
    assert (got.title, got.year, got.language) == ("file one", 1999, "English")
    assert not got.metadata_pending
    assert await files.complete_metadata([changed]) == 0  # no longer pending: nothing to do


async def test_users_and_chats_round_trip(prepared: Database) -> None:
    users = MongoUserRepository(prepared)
    assert (await users.touch(5, "Eve", None, NOW)).id == 5
    assert (await users.get(5)) is not None

    chats = MongoChatRepository(prepared)
    chat = await chats.upsert(-1001, "Film club", "supergroup", NOW)
    assert (chat.title, chat.settings, chat.active) == ("Film club", {}, True)
    updated = await chats.set_setting(-1001, "auto_filter", False)
    assert updated is not None
    assert updated.settings == {"auto_filter": False}
    assert await chats.count_active() == 1
    assert await chats.mark_left(-1001) is True
    assert await chats.count_active() == 0
    assert await chats.get(-9) is None


async def test_links_round_trip(prepared: Database) -> None:
    links = MongoLinkRepository(prepared)
    link = await links.create(created_by=1, now=NOW, file_ids=["u1"], max_uses=1, premium="premium")
    assert len(link.code) >= 12
    fetched = await links.get(link.code)
    assert fetched == link
    assert fetched.usable(NOW)
    used = await links.record_use(link.code)
    assert used is not None
    assert not used.usable(NOW)
    expiring = await links.create(
        created_by=1,
        now=NOW,
        chat_id=-100,
        first_message_id=1,
        last_message_id=9,
        expires_at=NOW + timedelta(days=1),
    )
    assert not expiring.usable(NOW + timedelta(days=1))
    assert await links.delete(link.code) is True
    assert await links.get(link.code) is None


async def test_jobs_round_trip_with_leases(prepared: Database) -> None:
    jobs = MongoJobRepository(prepared)
    job = await jobs.create("index", {"chat_id": -100}, NOW)
    lease = NOW + timedelta(minutes=5)
    claimed = await jobs.claim(job.id, "worker-a", NOW, lease)
    assert claimed is not None
    assert (claimed.state, claimed.owner) == ("running", "worker-a")
    assert await jobs.claim(job.id, "worker-b", NOW, lease) is None  # lease held
    assert await jobs.checkpoint(
        job.id,
        "worker-a",
        checkpoint={"last": 40},
        counters={"saved": 40},
        now=NOW,
        lease_until=lease,
    )
    later = lease + timedelta(seconds=1)
    stolen = await jobs.claim(job.id, "worker-b", later, later + timedelta(minutes=5))
    assert stolen is not None  # the lease lapsed: a crashed worker's job is resumed
    assert stolen.checkpoint == {"last": 40}
    assert not await jobs.checkpoint(
        job.id, "worker-a", checkpoint={}, counters={}, now=NOW, lease_until=lease
    )
    assert [j.id for j in await jobs.active()] == [job.id]
    assert await jobs.finish(job.id, "done", NOW)
    assert await jobs.active() == []


async def test_deletions_and_settings_round_trip(prepared: Database) -> None:
    deletions = MongoDeletionRepository(prepared)
    await deletions.schedule(42, 7, NOW + timedelta(minutes=10))
    await deletions.schedule(42, 7, NOW + timedelta(minutes=10))  # idempotent
    await deletions.schedule(43, 8, NOW + timedelta(minutes=20), notify=False)
    assert await deletions.pending() == 2
    due = await deletions.due(NOW + timedelta(minutes=15), 10)
    assert [(d.chat_id, d.message_id, d.notify) for d in due] == [(42, 7, True)]
    assert await deletions.remove([d.id for d in due]) == 1
    assert await deletions.pending() == 1

    settings = MongoSettingsRepository(prepared)
    assert await settings.get("mode") is None
    await settings.set("mode", "premium")
    assert await settings.get("mode") == "premium"
    first = await settings.get_or_create("secret", lambda: "a")
    assert await settings.get_or_create("secret", lambda: "b") == first == "a"


async def explain(db: Database, collection: str, query: dict[str, Any]) -> dict[str, Any]:
    result = await db.db.command(
        "explain", {"find": collection, "filter": query}, verbosity="executionStats"
    )
    stats = result["executionStats"]
    plan = result["queryPlanner"]["winningPlan"]
    stages = []
    while plan:
        stages.append(plan["stage"])
        plan = plan.get("inputStage")
    return {
        "stages": stages,
        "keys": stats["totalKeysExamined"],
        "docs": stats["totalDocsExamined"],
        "returned": stats["nReturned"],
    }


async def fill(db: Database, size: int) -> None:
    """`size` files: 5 changed after number 10**6, the same 5 waiting for the metadata parser."""
    docs = [
        {
            "_id": f"u{n}",
            "chat_id": -100,
            "message_id": n,
            "dup": name_hash(f"file {n}"),
            "file_size": n,
            "seq": n if n % (size // 5) else 10**6 + n,
            **({"meta": 10**6 + n} if n % (size // 5) == 0 else {}),
        }
        for n in range(size)
    ]
    await db.collection("files").insert_many(docs)
    await db.collection("users").insert_many(
        [{"_id": n, "first_name": "u", "joined_at": NOW, "last_seen": NOW} for n in range(1, size)]
    )


@pytest.fixture(scope="module")
async def sized(mongo_uri: str) -> Any:
    """Two databases with the same shape of data, one ten times larger."""
    dbs = {}
    for size in (200, 2000):
        db = Database(mongo_uri, f"hot_paths_{size}")
        await db.start()
        await db.drop()
        await db.prepare(ALL_INDEXES)
        await fill(db, size)
        dbs[size] = db
    yield dbs
    for db in dbs.values():
        await db.drop()
        await db.close()


@pytest.mark.parametrize(
    ("collection", "query"),
    [
        ("files", {"seq": {"$gt": 10**6 - 1, "$lte": 10**6 + 5_000}}),  # the index catching up
        ("files", {"meta": {"$gt": 10**6 - 1, "$lte": 10**6 + 5_000}}),  # metadata parser
        ("files", {"_id": "u40"}),  # a file by id (delivery)
        ("files", {"_id": {"$in": ["u1", "u2", "u3"]}}),  # a page of results by id
        ("users", {"_id": 40}),  # user lookup on every update
        ("files", {"dup": {"$in": [name_hash("file 7")]}}),  # duplicate detection
    ],
)
async def test_hot_queries_use_an_index_and_stay_flat(
    sized: dict[int, Database], collection: str, query: dict[str, Any]
) -> None:
    small = await explain(sized[200], collection, query)
    large = await explain(sized[2000], collection, query)
    assert "IXSCAN" in small["stages"]
    assert "COLLSCAN" not in large["stages"]
    assert small["returned"] == large["returned"] > 0
    assert (small["keys"], small["docs"]) == (large["keys"], large["docs"])  # flat in size
    assert large["docs"] <= 3 * large["returned"]  # examined per result

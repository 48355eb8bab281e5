"""A database written by the previous schema (v1: search arrays and a `vocab` collection in
MongoDB, written by main before issue #12) is migrated in place at start-up, resumes after an
interruption, and answers the same searches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bson import json_util

from repositories import ALL_INDEXES, DOWNGRADES, MIGRATIONS
from repositories.migrations import lean_files, restore_search_arrays
from repositories.mongo import SCHEMA_VERSION, Database
from testkit import BotHarness
from tests.fakes import capture_events

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "schema_v1.json"
V1_INDEXES = {
    "terms_1": [("terms", 1)],
    "pairs_1": [("pairs", 1)],
    "name_key_1": [("name_key", 1)],
    "name_key_1_file_size_1": [("name_key", 1), ("file_size", 1)],
    "chat_id_1_message_id_1": [("chat_id", 1), ("message_id", 1)],
    "seq_1": [("seq", 1)],
}


async def write_v1(uri: str, name: str) -> dict[str, Any]:
    """The fixture's collections and indexes, as main wrote them; returns the fixture."""
    data: dict[str, Any] = json_util.loads(FIXTURE.read_text("utf-8"))
    database = Database(uri, name)
    await database.start()
    for collection in ("files", "vocab", "counters", "schema", "file_tombstones"):
        if data[collection]:
            await database.collection(collection).insert_many(data[collection])
    for index, keys in V1_INDEXES.items():
        unique = index == "chat_id_1_message_id_1"
        await database.collection("files").create_index(keys, name=index, unique=unique)
    await database.close()
    return data


async def test_a_v1_database_is_migrated_resumably_and_answers_the_same(mongo_uri: str) -> None:
    name = "migrate_v1"
    data = await write_v1(mongo_uri, name)
    assert data["schema"][0]["version"] == 1

    # A first start is stopped after two batches: half the files are lean, half are not.
    database = Database(mongo_uri, name)
    await database.start()
    await lean_files(database, batch=20, stop_after=2)
    files = database.collection("files")
    assert await files.count_documents({"terms": {"$exists": True}}) == len(data["files"]) - 40
    assert (await database.collection("schema").find_one({"_id": "migration-2"}))["done"] == 40
    await database.close()

    with capture_events() as events:
        async with BotHarness(
            database_uri=mongo_uri, database_name=name, configure_logs=False
        ) as bot:
            found = {
                text: sorted(
                    f.id
                    for f in (await bot.running.services.search.search(text, page_size=50)).items
                )
                for text in data["expected"]
            }
            (reply,) = await bot.user(1001, "Alice").send("dark city")
            database = bot.running.database
            docs = await database.collection("files").find({}).to_list(None)
            indexes = await database.collection("files").index_information()
            collections = await database.db.list_collection_names()
            version = (await database.schema_status()).found
    (resumed,) = [e for e in events if e["event"] == "schema_migration_resumed"]
    assert resumed["files"] == 40  # from the checkpoint, not from the start
    progress = [e for e in events if e["event"] == "schema_migration_progress"]
    assert progress[-1]["files"] == len(data["files"])
    assert any(e["event"] == "schema_migration_done" for e in events)
    assert version == SCHEMA_VERSION
    for text, expected in data["expected"].items():
        assert found[text][: len(expected)] == expected or set(expected) <= set(found[text]), text
    assert reply.text == "🔎 1 file for dark city"
    assert len(docs) == len(data["files"])
    lean = {"terms", "title_terms", "pairs", "joined", "name_key"}
    assert not [d["_id"] for d in docs if lean & set(d)]
    assert all("dup" in d and "seq" in d for d in docs)
    assert not [d["_id"] for d in docs if "meta" in d]  # the parser read every name again
    assert not [d for d in docs if None in d.values()]
    assert set(indexes).isdisjoint({"terms_1", "pairs_1", "name_key_1", "name_key_1_file_size_1"})
    assert "vocab" not in collections


V1_ARRAYS = ("terms", "title_terms", "pairs", "joined", "name_key")


async def test_up_then_down_one_round_trips_and_up_again_answers_the_same(
    mongo_uri: str,
) -> None:
    name = "migrate_round_trip"
    data = await write_v1(mongo_uri, name)
    database = Database(mongo_uri, name)
    await database.start()
    try:
        await database.prepare(ALL_INDEXES, MIGRATIONS)  # what `migrate --up` runs
        assert (await database.schema_status()).found == SCHEMA_VERSION
        # Stopped after one batch, then run to the end: resumes, every file done once.
        await restore_search_arrays(database, batch=20, stop_after=1)
        files = database.collection("files")
        assert await files.count_documents({"dup": {"$exists": True}}) == len(data["files"]) - 20
        with capture_events() as events:
            status = await database.downgrade(1, DOWNGRADES)
        assert status.found == 1
        done = [e for e in events if e["event"] == "schema_migration_done"]
        assert done[-1]["files"] == len(data["files"]) - 20

        docs = {d["_id"]: d for d in await _files(database)}
        original = {d["_id"]: d for d in data["files"]}
        assert docs.keys() == original.keys()
        for file_id, doc in docs.items():
            before = original[file_id]
            for field in (*V1_ARRAYS, "title", "seq", "file_id", "file_name", "chat_id"):
                assert doc.get(field) == before[field], (file_id, field)
            assert "dup" not in doc
            assert "meta" not in doc
        vocab = await database.collection("vocab").find({}).to_list(None)
        expected_vocab = {v["_id"]: (v["df"], v["jdf"]) for v in data["vocab"] if v["df"] > 0}
        assert {v["_id"]: (v["df"], v["jdf"]) for v in vocab} == expected_vocab
        indexes = await files.index_information()
        for index, keys in V1_INDEXES.items():
            assert [tuple(k) for k in indexes[index]["key"]] == keys, index
        assert "dup_1" not in indexes
        assert "meta_1" not in indexes
    finally:
        await database.close()

    # And up again: the same files, lean, answering the fixture's searches.
    async with BotHarness(database_uri=mongo_uri, database_name=name, configure_logs=False) as bot:
        database = bot.running.database
        docs_again = await _files(database)
        assert len(docs_again) == len(data["files"])
        assert not [d["_id"] for d in docs_again if set(V1_ARRAYS) & set(d)]
        assert "vocab" not in await database.db.list_collection_names()
        for text, expected in data["expected"].items():
            page = await bot.running.services.search.search(text, page_size=50)
            found = [f.id for f in page.items]
            assert set(expected) <= set(found), text
        await database.drop()


async def _files(database: Database) -> list[dict[str, Any]]:
    return await database.collection("files").find({}).to_list(None)

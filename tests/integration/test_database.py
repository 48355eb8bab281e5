"""The database layer on a real MongoDB-wire server: embedded server, indexes, schema, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo.errors import PyMongoError

from core.utils.errors import StorageError
from repositories import ALL_INDEXES
from repositories.embedded import EmbeddedServer
from repositories.mongo import SCHEMA_VERSION, Database
from repositories.users import MongoUserRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_embedded_server_keeps_data_across_a_restart(tmp_path: Path) -> None:
    db = Database(None, "persist", data_dir=tmp_path)
    await db.start()
    assert db.is_embedded
    await db.collection("notes").insert_one({"_id": 1, "text": "kept"})
    await db.close()
    assert db.embedded is None

    again = Database(None, "persist", data_dir=tmp_path)
    await again.start()
    try:
        assert await again.collection("notes").find_one({"_id": 1}) == {"_id": 1, "text": "kept"}
    finally:
        await again.close()
    assert (tmp_path / "db").is_dir()


async def test_the_embedded_server_has_no_retryable_writes_and_its_cache_size(
    tmp_path: Path,
) -> None:
    """One node: no retryable-write bookkeeping and no oplog (#45); WiredTiger's cache as
    configured."""
    db = Database(None, "single", data_dir=tmp_path, embedded_cache="64M")
    await db.start()
    try:
        assert "retryWrites=false" in db.uri
        assert db.db.client.options.retry_writes is False
        await db.collection("notes").insert_one({"_id": 1})  # writes work without retries
        # A standalone node: no replica set, so no oplog written beside every write.
        hello = await db.db.client.admin.command("hello")
        assert "setName" not in hello
        assert "oplog.rs" not in await db.db.client.local.list_collection_names()
    finally:
        await db.close()
    base = (tmp_path / "db" / "WiredTiger.basecfg").read_text()
    assert "cache_size=64M" in base.splitlines()


async def test_an_operators_uri_is_left_as_written(mongo_uri: str) -> None:
    """Retryable writes stay on for an operator's database unless their URI turns them off."""
    plain = mongo_uri.replace("?retryWrites=false", "")  # the embedded test server's option
    off = f"{plain}{'&' if '?' in plain else '?'}retryWrites=false"
    for uri, retries in ((plain, True), (off, False)):
        db = Database(uri, "operator")
        await db.start()
        try:
            assert db.uri == uri
            assert db.db.client.options.retry_writes is retries
        finally:
            await db.close()


async def test_stopping_the_embedded_server_ends_its_process(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "db")
    await server.start()
    process = server._process
    assert process is not None
    await server.stop()
    assert process.returncode == 0


async def test_prepare_creates_every_declared_index_and_the_schema_version(
    database: Database,
) -> None:
    assert await database.missing_indexes(ALL_INDEXES) == list(ALL_INDEXES)
    assert (await database.schema_status()).found is None
    await database.prepare(ALL_INDEXES)
    assert await database.missing_indexes(ALL_INDEXES) == []
    status = await database.schema_status()
    assert status.current
    assert status.found == SCHEMA_VERSION
    await database.prepare(ALL_INDEXES)  # idempotent
    assert await database.missing_indexes(ALL_INDEXES) == []


async def test_a_database_written_by_newer_code_is_refused(database: Database) -> None:
    await database.collection("schema").insert_one({"_id": "schema", "version": 99})
    with pytest.raises(StorageError, match="newer than this bot"):
        await database.ensure_schema()


async def test_driver_errors_become_storage_errors() -> None:
    db = Database("mongodb://127.0.0.1:1/", "nowhere", server_selection_timeout=0.3)
    await db.start()
    try:
        with pytest.raises(StorageError) as caught:
            await db.ping()
    finally:
        await db.close()
    assert caught.value.operation == "ping"
    assert isinstance(caught.value.__cause__, PyMongoError)


async def test_users_round_trip(database: Database) -> None:
    users = MongoUserRepository(database)
    first = await users.touch(1001, "Alice", "alice", NOW)
    assert (first.id, first.first_name, first.joined_at, first.banned) == (1001, "Alice", NOW, None)
    later = NOW + timedelta(hours=1)
    again = await users.touch(1001, "Alice B", None, later)
    assert (again.first_name, again.username, again.joined_at, again.last_seen) == (
        "Alice B",
        None,
        NOW,
        later,
    )

    banned = await users.ban(1001, "spam", by=1, now=later)
    assert banned.banned is not None
    assert (banned.banned.reason, banned.banned.by) == ("spam", 1)
    assert await users.unban(1001) is True
    assert await users.unban(1001) is False
    assert (await users.get(1001)).banned is None  # type: ignore[union-attr]

    until = NOW + timedelta(days=30)
    premium = await users.set_premium_until(1001, until)
    assert premium is not None
    assert premium.is_premium(NOW)
    assert not premium.is_premium(until)
    assert await users.set_premium_until(4242, until) is None

    await users.mark_blocked(1001)
    assert (await users.get(1001)).blocked_bot is True  # type: ignore[union-attr]
    assert (await users.touch(1001, "Alice", None, later)).blocked_bot is False
    assert await users.get(999) is None
    assert await users.count() == 1


async def test_banning_an_unknown_user_creates_the_record(database: Database) -> None:
    users = MongoUserRepository(database)
    record = await users.ban(5555, "abuse", by=1, now=NOW)
    assert record.banned is not None
    assert record.id == 5555

"""Shared fixtures: one embedded MongoDB-wire server per session, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from core.config import Settings
from core.logging import redactor
from repositories.embedded import EmbeddedServer
from repositories.mongo import Database
from testkit import BotHarness

pytest_plugins = ["tests.hangs"]  # a hung test fails with its tasks' stacks

SETTING_NAMES = [name.upper() for name in Settings.model_fields]


@pytest.fixture(scope="session")
async def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """`TEST_DATABASE_URI` when set (a real mongod), else the embedded server, once per session."""
    external = os.environ.get("TEST_DATABASE_URI")
    if external:
        yield external
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("mongo") / "db")
    uri = await server.start()
    try:
        yield uri
    finally:
        await server.stop()


@pytest.fixture
async def database(mongo_uri: str) -> AsyncIterator[Database]:
    """A started `Database` on its own database name, dropped afterwards."""
    db = Database(mongo_uri, f"test_{uuid.uuid4().hex[:12]}")
    await db.start()
    try:
        yield db
    finally:
        await db.drop()
        await db.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No setting leaks in from the developer's environment or a `.env` in the working dir."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Each test starts from structlog's defaults and an empty redactor."""
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    redactor.clear()


@pytest.fixture
async def bot(mongo_uri: str) -> AsyncIterator[BotHarness]:
    """The real bot on the Telegram double and the session's database; user 1 is the admin."""
    async with BotHarness(database_uri=mongo_uri, ADMINS="1") as harness:
        yield harness

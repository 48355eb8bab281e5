"""`python bot.py` as an operator runs it: exit codes, messages, the health check, no secrets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repositories.mongo import Database
from testkit import BotHarness
from tests.conftest import SETTING_NAMES

BOT = Path(__file__).resolve().parents[2] / "bot.py"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
API_HASH = "0123456789abcdef0123456789abcdef"


def run_bot(
    tmp_path: Path, *args: str, timeout: float = 90, input_text: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    environ.update({"DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, str(BOT), *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        input=input_text if input_text is not None else "",
        timeout=timeout,
        check=False,
    )


def test_health_check_on_the_embedded_database_is_healthy(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "--health-check", "--json", "--offline")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "healthy"
    checks = report["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "configuration": "ok",
        "database": "ok",
        "indexes": "ok",
        "schema": "ok",
        "telegram": "skipped",
    }
    assert "embedded" in checks["database"]["detail"]
    assert "--offline" in checks["telegram"]["detail"]


def test_health_check_without_credentials_is_a_configuration_failure(tmp_path: Path) -> None:
    """`make run` would exit 2 here, so the health check must not say healthy."""
    result = run_bot(tmp_path, "--health-check", "--json", API_ID="12345")
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "unhealthy"
    configuration = report["checks"]["configuration"]
    assert configuration["status"] == "fail"
    assert "BOT_TOKEN" in configuration["detail"]
    assert "API_HASH" in configuration["detail"]
    assert "API_ID," not in configuration["detail"]  # it is set
    assert "--offline" in configuration["detail"]
    assert report["checks"]["database"]["status"] == "ok"  # the rest is still checked


def test_health_check_prints_a_table_by_default(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "--health-check", "--offline")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "TIME", "DETAIL"]
    assert any(line.startswith("telegram") and "--offline" in line for line in lines)
    assert lines[-1] == "healthy"


def test_unreachable_database_is_unhealthy_within_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_bot(
        tmp_path,
        "--health-check",
        "--json",
        "--offline",
        "--startup-timeout",
        "4",
        DATABASE_URI="mongodb://bot:pa55w0rd@127.0.0.1:1/",
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "unhealthy"
    assert report["checks"]["database"]["status"] == "fail"
    assert report["checks"]["indexes"]["status"] == "skipped"
    checks_ms = sum(c["duration_ms"] for c in report["checks"].values())
    assert checks_ms <= 4_000 + 1_000  # the checks keep to the budget (a busy machine adds some)
    assert elapsed < 4 + 30  # and nothing hangs (interpreter start-up varies with machine load)
    assert "pa55w0rd" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_boolean_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "--health-check", ENABLE_JSON_LOGGING="maybe")
    assert result.returncode == 2
    assert "ENABLE_JSON_LOGGING" in result.stderr
    assert "docs/CONFIGURATION.md" in result.stderr
    assert "Traceback" not in result.stderr


def test_running_without_credentials_names_them_and_suggests_simulate(tmp_path: Path) -> None:
    result = run_bot(tmp_path, API_ID="12345")
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr
    assert "API_HASH" in result.stderr
    assert "API_ID" not in result.stderr.replace("API_ID/API_HASH", "")
    assert "docs/CONFIGURATION.md" in result.stderr
    assert "python bot.py simulate" in result.stderr


def test_secrets_never_reach_stdout_or_stderr(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        "--health-check",
        "--startup-timeout",
        "6",
        BOT_TOKEN=TOKEN,
        API_ID="12345",
        API_HASH=API_HASH,
        DATABASE_URI="mongodb://bot:pa55w0rd@127.0.0.1:1/",
        LOG_LEVEL="DEBUG",
    )
    assert result.returncode == 1  # no database, and Telegram is unreachable from here
    output = result.stdout + result.stderr
    for secret in (TOKEN, API_HASH, "pa55w0rd"):
        assert secret not in output
    assert "telegram" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [("BOT_TOKEN", "12345:short-s3cr3t"), ("DATABASE_URI", "redis://u:pa55w0rd@host")],
)
def test_malformed_secrets_are_named_but_not_echoed(tmp_path: Path, name: str, value: str) -> None:
    result = run_bot(tmp_path, "--health-check", **{name: value})
    assert result.returncode == 2
    assert name in result.stderr
    assert "s3cr3t" not in result.stderr
    assert "pa55w0rd" not in result.stderr


def _json_lines(text: str) -> list[dict[str, object]]:
    """Every line must be a JSON log record: nothing printed outside the logger."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_failed_telegram_login_is_one_json_line_with_a_reason(tmp_path: Path) -> None:
    """Well-formed but unusable credentials (and here no route to Telegram at all)."""
    result = run_bot(
        tmp_path,
        "--startup-timeout",
        "8",
        BOT_TOKEN=TOKEN,
        API_ID="12345",
        API_HASH=API_HASH,
        ENABLE_JSON_LOGGING="true",
    )
    assert result.returncode == 1
    assert result.stdout == ""
    records = _json_lines(result.stderr)  # raises on a traceback or any plain-text line
    failures = [r for r in records if r["event"] == "startup_failed"]
    assert len(failures) == 1
    reason = str(failures[0]["reason"])
    assert any(
        phrase in reason
        for phrase in (
            "no network route to Telegram",
            "BOT_TOKEN was rejected",
            "log in to Telegram",
        )
    ), reason
    assert "KeyError: 0" not in reason
    assert not [r for r in records if r["event"] == "bot_stopped"]  # it never started
    output = result.stdout + result.stderr
    for secret in (TOKEN, API_HASH, TOKEN.split(":")[1]):
        assert secret not in output


def test_the_health_check_gives_the_same_telegram_reason(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        "--health-check",
        "--json",
        "--startup-timeout",
        "8",
        BOT_TOKEN=TOKEN,
        API_ID="12345",
        API_HASH=API_HASH,
    )
    assert result.returncode == 1
    telegram = json.loads(result.stdout)["checks"]["telegram"]
    assert telegram["status"] == "fail"
    assert "Telegram" in telegram["detail"] or "BOT_TOKEN" in telegram["detail"]
    assert "KeyError" not in telegram["detail"].replace("(KeyError)", "")
    assert TOKEN not in result.stdout + result.stderr


def test_the_uris_server_selection_timeout_is_honoured_with_a_short_reason(
    tmp_path: Path,
) -> None:
    result = run_bot(
        tmp_path,
        "--health-check",
        "--json",
        "--offline",
        DATABASE_URI="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=1000",
    )
    assert result.returncode == 1
    database = json.loads(result.stdout)["checks"]["database"]
    assert database["status"] == "fail"
    assert database["duration_ms"] < 2_500  # 1 s as the URI says, not the 5-10 s default
    assert database["detail"] == "ping failed: cannot reach 127.0.0.1:1: connection refused"


def test_an_unreachable_database_at_start_is_one_log_line(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        BOT_TOKEN=TOKEN,
        API_ID="12345",
        API_HASH=API_HASH,
        ENABLE_JSON_LOGGING="true",
        DATABASE_URI="mongodb://bot:pa55w0rd@127.0.0.1:1/?serverSelectionTimeoutMS=500",
    )
    assert result.returncode == 1
    records = _json_lines(result.stderr)
    (failure,) = [r for r in records if r["event"] == "startup_failed"]
    assert "cannot reach 127.0.0.1:1: connection refused" in str(failure["reason"])
    assert "pa55w0rd" not in result.stderr


async def test_reindex_rebuilds_the_search_index_from_the_database(
    tmp_path: Path, mongo_uri: str
) -> None:
    harness = BotHarness(database_uri=mongo_uri, keep_database=True)
    async with harness:
        await harness.channel("Movies").post_video("Heat.1995.mkv")
        await harness.channel("Movies").post_video("Ronin.1998.mkv")
    try:
        result = await asyncio.to_thread(
            run_bot,
            tmp_path,
            "reindex",
            DATABASE_URI=mongo_uri,
            DATABASE_NAME=harness.database_name,
            ENABLE_JSON_LOGGING="true",
        )
    finally:
        cleanup = Database(mongo_uri, harness.database_name)
        await cleanup.start()
        await cleanup.drop()
        await cleanup.close()
    assert result.returncode == 0, result.stderr
    records = _json_lines(result.stderr)
    (done,) = [r for r in records if r["event"] == "search_index_rebuilt"]
    assert done["files"] == 2
    assert (tmp_path / "data" / "search" / "state.json").exists()


def test_reindex_without_a_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        "reindex",
        DATABASE_URI="mongodb://bot:pa55w0rd@127.0.0.1:1/?serverSelectionTimeoutMS=500",
    )
    assert result.returncode == 1
    assert "reindex_failed" in result.stderr
    assert "cannot reach 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pa55w0rd" not in result.stderr


async def test_migrate_shows_runs_dry_runs_and_rolls_back_the_schema_migrations(
    tmp_path: Path, mongo_uri: str
) -> None:
    from tests.e2e.test_schema_migration import write_v1  # noqa: PLC0415 - its fixture

    name = f"cli_migrate_{os.getpid()}"
    await write_v1(mongo_uri, name)
    env = {"DATABASE_URI": mongo_uri, "DATABASE_NAME": name}
    try:
        status = await asyncio.to_thread(run_bot, tmp_path, "migrate", **env)
        assert status.returncode == 0, status.stderr
        assert "Schema in the database: v1; this bot: v2." in status.stdout
        assert "pending: v2 — v1 → v2: lean file documents." in status.stdout
        dry = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--up", "--dry-run", **env)
        assert "Dry run: nothing was changed." in dry.stdout
        up = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--up", **env)
        assert up.returncode == 0, up.stderr
        assert "Migrated to v2." in up.stdout
        again = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--status", **env)
        assert "Schema in the database: v2; this bot: v2.\nNothing to migrate." in again.stdout

        # Rolling back: --down 1 says what it does, a dry run changes nothing, too far is refused.
        dry = await asyncio.to_thread(
            run_bot, tmp_path, "migrate", "--down", "1", "--dry-run", **env
        )
        assert dry.returncode == 0, dry.stderr
        assert "down: v2 → v1 — v2 → v1: the search arrays and the `vocab`" in dry.stdout
        assert "Dry run: nothing was changed." in dry.stdout
        too_far = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--down", "2", **env)
        assert too_far.returncode == 1
        assert "cannot go back 2 version(s) from v2: downgrades exist for v2" in too_far.stderr
        assert "Traceback" not in too_far.stderr
        both = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--up", "--down", "1", **env)
        assert both.returncode == 2
        assert "not allowed with argument" in both.stderr
        down = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--down", "1", **env)
        assert down.returncode == 0, down.stderr
        assert "Migrated down to v1. Start the older release now" in down.stdout
        after = await asyncio.to_thread(run_bot, tmp_path, "migrate", **env)
        assert "Schema in the database: v1; this bot: v2." in after.stdout
        twice = await asyncio.to_thread(run_bot, tmp_path, "migrate", "--down", "1", **env)
        assert twice.returncode == 1
        assert "the database has schema v1; this bot downgrades from v2" in twice.stderr
    finally:
        database = Database(mongo_uri, name)
        await database.start()
        await database.drop()
        await database.close()

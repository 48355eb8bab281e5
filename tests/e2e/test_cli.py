"""`python bot.py` as an operator runs it: exit codes, messages, the health check, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    result = run_bot(tmp_path, "--health-check", "--json")
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
    assert "BOT_TOKEN" in checks["telegram"]["detail"]


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
    assert checks_ms <= 4_000 + 250  # the checks keep to the budget
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

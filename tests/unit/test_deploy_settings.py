"""What each documented way to run the bot ends up with when the operator copies `.env.example`
to `.env` and fills in the required values: the settings are computed from the shipped files
(the Dockerfile's `ENV`, docker-compose.yml, the systemd unit, a platform's `PORT`) the way each
runtime combines them, and read by the bot's own `Settings`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from core.config import Settings
from core.logging import wants_json

ROOT = Path(__file__).resolve().parents[2]
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - where the image and platforms must listen
FILLED = {
    "BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
    "API_ID": "12345",
    "API_HASH": "0123456789abcdef0123456789abcdef",
    "ADMINS": "1",
}


def copied_env_example() -> str:
    """`cp .env.example .env` and the required values filled in, as the guides say."""
    lines = []
    for line in (ROOT / ".env.example").read_text("utf-8").splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={FILLED[key]}" if key in FILLED and "=" in line else line)
    return "\n".join(lines) + "\n"


def env_file(text: str) -> dict[str, str]:
    """`KEY=VALUE` lines as `docker run --env-file`, compose's `env_file` and systemd's
    `EnvironmentFile` read them: comments and blank lines skipped, an empty value kept (it
    still overrides)."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value
    return values


def dockerfile_env() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            values.update(dict(part.split("=", 1) for part in shlex.split(line[4:])))
    return values


def compose_environment() -> dict[str, str]:
    """The bot service's `environment:` mapping in docker-compose.yml."""
    text = (ROOT / "docker-compose.yml").read_text("utf-8")
    block = re.search(r"\n  bot:\n(?:    .*\n|\n)*?    environment:\n((?:      .*\n)+)", text)
    assert block is not None, "docker-compose.yml has no environment for the bot"
    pairs = (line.strip().split(":", 1) for line in block.group(1).splitlines())
    return {key.strip(): value.strip() for key, value in pairs}


def systemd_environment() -> dict[str, str]:
    unit = (ROOT / "deploy" / "systemd" / "filesearch-bot.service").read_text("utf-8")
    values: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("Environment="):
            values.update(dict(p.split("=", 1) for p in shlex.split(line.split("=", 1)[1])))
    return values


def settings_from(clean_env: pytest.MonkeyPatch, environ: dict[str, str]) -> Settings:
    """The bot's settings with exactly this environment (no `.env` in the working directory,
    as in the image and under systemd)."""
    for key, value in environ.items():
        clean_env.setenv(key, value)
    return Settings()


def test_docker_run_with_the_env_file(clean_env: pytest.MonkeyPatch) -> None:
    # `docker run --env-file .env`: the file's variables override the image's ENV.
    settings = settings_from(clean_env, {**dockerfile_env(), **env_file(copied_env_example())})
    assert settings.data_dir == Path("/data")  # the volume the image owns, not /app/data
    assert (settings.http_host, settings.http_port) == (EVERY_INTERFACE, 8080)  # reachable: -p
    assert settings.environment == "production"
    assert wants_json(settings.enable_json_logging, settings.environment)
    assert settings.database_uri is None  # the embedded database, in /data/db


def test_docker_compose(clean_env: pytest.MonkeyPatch) -> None:
    # compose: the image's ENV, then `env_file`, then `environment` wins.
    settings = settings_from(
        clean_env,
        {**dockerfile_env(), **env_file(copied_env_example()), **compose_environment()},
    )
    assert settings.data_dir == Path("/data")
    assert (settings.http_host, settings.http_port) == (EVERY_INTERFACE, 8080)
    assert settings.environment == "production"
    assert settings.database_uri is not None
    assert settings.database_uri.get_secret_value() == "mongodb://mongo:27017"


def test_the_systemd_unit(clean_env: pytest.MonkeyPatch) -> None:
    # systemd: variables of EnvironmentFile= override those of Environment=.
    settings = settings_from(clean_env, {**systemd_environment(), **env_file(copied_env_example())})
    unit = (ROOT / "deploy" / "systemd" / "filesearch-bot.service").read_text("utf-8")
    assert settings.data_dir == Path("/var/lib/filesearch-bot")
    assert f"ReadWritePaths={settings.data_dir}" in unit  # writable under ProtectSystem=strict
    assert settings.environment == "production"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)  # the RUNBOOK's curl


def test_a_platform_that_sets_port(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A checkout on Render, Koyeb and the like: `.env` in the working directory, PORT given.
    (tmp_path / ".env").write_text(copied_env_example(), "utf-8")
    clean_env.setenv("PORT", "10000")
    settings = Settings()
    assert (settings.http_host, settings.http_port) == (EVERY_INTERFACE, 10000)


def test_make_run_from_a_checkout(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(copied_env_example(), "utf-8")
    settings = Settings()
    assert settings.bot_token is not None
    assert settings.data_dir == Path("./data")
    assert settings.environment == "development"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)

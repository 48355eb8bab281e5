"""Composition root and command line: run the bot, check its health, or simulate it."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from pyrogram import Client

from core.config import (
    ConfigurationError,
    Settings,
    load_settings,
    missing_telegram_credentials,
)
from core.logging import configure_logging, get_logger
from core.services.health import HealthReport, run_health_checks
from core.utils.errors import AppError
from repositories import ALL_INDEXES
from repositories.mongo import Database
from repositories.users import MongoUserRepository, UserRepository

log = get_logger("bot")

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIG = 2

CONFIG_DOC = "docs/CONFIGURATION.md"


@dataclass
class App:
    """Everything `build_app` wired together; `start`/`stop` bracket its lifetime."""

    settings: Settings
    database: Database
    client: Client
    users: UserRepository

    async def start(self) -> None:
        await self.database.start()
        await self.database.prepare(ALL_INDEXES)
        await self.client.start()
        me = self.client.me
        log.info("bot_started", username=me.username if me else None, bot_id=me.id if me else None)

    async def stop(self) -> None:
        try:
            if self.client.is_connected:
                await self.client.stop()
        finally:
            await self.database.close()
        log.info("bot_stopped")


def build_database(settings: Settings) -> Database:
    uri = settings.database_uri.get_secret_value() if settings.database_uri else None
    return Database(uri, settings.database_name, data_dir=settings.data_dir)


def build_telegram_client(
    settings: Settings, *, name: str = "bot", in_memory: bool = False
) -> Client:
    """The real Pyrogram client; its session file lives in DATA_DIR so restarts skip sign-in."""
    if settings.api_id is None or settings.api_hash is None or settings.bot_token is None:
        raise ConfigurationError([f"{n}: not set" for n in missing_telegram_credentials(settings)])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Client(
        name,
        api_id=settings.api_id,
        api_hash=settings.api_hash.get_secret_value(),
        bot_token=settings.bot_token.get_secret_value(),
        workdir=str(settings.data_dir),
        in_memory=in_memory,
    )


def build_app(
    settings: Settings, *, db: Database | None = None, telegram: Client | None = None
) -> App:
    """The one composition root: settings → database → repositories → services → handlers."""
    database = db or build_database(settings)
    client = telegram or build_telegram_client(settings)
    users = MongoUserRepository(database)
    return App(settings=settings, database=database, client=client, users=users)


# --- commands ------------------------------------------------------------------------------------


async def run_bot(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM, then shut down cleanly (embedded database included)."""
    app = build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        await stop.wait()
    except AppError as exc:
        log.error("startup_failed", error=str(exc), code=exc.code.value)  # noqa: TRY400
        return EXIT_UNHEALTHY
    finally:
        await app.stop()
    return EXIT_OK


async def health_check(settings: Settings, *, timeout: float, offline: bool) -> HealthReport:
    database = build_database(settings)
    missing = missing_telegram_credentials(settings)
    probe = None
    if offline:
        reason = "--offline"
    elif missing:
        reason = f"not configured ({', '.join(missing)} unset)"
    else:
        reason = ""

        async def probe_telegram() -> str:
            client = build_telegram_client(settings, name="health-check", in_memory=True)
            client.no_updates = True
            await client.start()
            try:
                me = client.me
                return f"@{me.username}" if me and me.username else "the bot"
            finally:
                await client.stop()

        probe = probe_telegram
    try:
        return await run_health_checks(
            environment=settings.environment,
            database=database,
            indexes=ALL_INDEXES,
            telegram_probe=probe,
            telegram_skip_reason=reason,
            timeout=timeout,
        )
    finally:
        await database.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="Telegram file-search bot. With no arguments it runs the bot.",
    )
    parser.add_argument(
        "--health-check", action="store_true", help="check configuration, database and Telegram"
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        metavar="N",
        help="seconds the health check may take in all (default 30)",
    )
    parser.add_argument("--json", action="store_true", help="print the health report as JSON")
    parser.add_argument("--offline", action="store_true", help="skip the Telegram check")
    parser.add_argument(
        "--environment",
        choices=["development", "staging", "production"],
        help="override ENVIRONMENT",
    )
    return parser


def _print_config_error(problems: Sequence[str]) -> None:
    print("Configuration error:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print(f"See {CONFIG_DOC} for every setting.", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"environment": args.environment} if args.environment else {}
    try:
        settings = load_settings(overrides)
    except ConfigurationError as exc:
        _print_config_error(exc.problems)
        return EXIT_CONFIG

    configure_logging(
        level="WARNING" if args.health_check else settings.log_level,
        json=settings.enable_json_logging,
        secrets=settings.secret_values(),
    )

    if args.health_check:
        report = asyncio.run(
            health_check(settings, timeout=args.startup_timeout, offline=args.offline)
        )
        print(json.dumps(report.to_dict()) if args.json else report.to_table())
        return EXIT_OK if report.healthy else EXIT_UNHEALTHY

    missing = missing_telegram_credentials(settings)
    if missing:
        _print_config_error(
            [f"{name}: required to run the bot" for name in missing]
            + [
                "Get BOT_TOKEN from @BotFather and API_ID/API_HASH from my.telegram.org.",
                "To try the bot without a token: python bot.py simulate",
            ]
        )
        return EXIT_CONFIG
    return asyncio.run(run_bot(settings))


if __name__ == "__main__":
    raise SystemExit(main())

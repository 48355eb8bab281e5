"""Composition root and command line: run the bot, check its health, or simulate it."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyrogram import Client
from pyrogram.enums import ParseMode
from pyrogram.errors import RPCError
from pyrogram.types import BotCommand, BotCommandScopeChat

from core.cache.enhanced_cache import cache_cleanup_loop
from core.clock import Clock, SystemClock
from core.config import (
    ConfigurationError,
    Settings,
    load_settings,
    missing_telegram_credentials,
)
from core.logging import configure_logging, get_logger
from core.services import Services
from core.services.autodelete import AutoDeleteService
from core.services.callbacks import CallbackCodec
from core.services.delivery import DeliveryService
from core.services.groups import GroupService
from core.services.health import HealthReport, run_health_checks
from core.services.indexing import IndexingService
from core.services.search import SearchService
from core.services.subscription import SubscriptionService
from core.services.users import UserService
from core.telegram.api_wrapper import TelegramAPI
from core.telegram.membership import PyrogramMembership
from core.utils.activity import Activity
from core.utils.errors import AppError
from core.utils.guards import Gate, Guards
from core.utils.ratelimit import UserRateLimiter
from handlers import views
from handlers.middleware import Middleware
from handlers.registry import register_handlers
from repositories import ALL_INDEXES
from repositories.chats import MongoChatRepository
from repositories.deletions import MongoDeletionRepository
from repositories.files import MongoFileRepository
from repositories.join_requests import MongoJoinRequestRepository
from repositories.mongo import Database
from repositories.searches import MongoSearchKeyRepository
from repositories.settings import MongoSettingsRepository
from repositories.users import MongoUserRepository, UserRepository

log = get_logger("bot")

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIG = 2

CONFIG_DOC = "docs/CONFIGURATION.md"
CACHE_CLEANUP_SECONDS = 60.0
AUTO_DELETE_SWEEP_SECONDS = 30.0


@dataclass
class App:
    """Everything `build_app` wired together; `start`/`stop` bracket its lifetime."""

    settings: Settings
    database: Database
    client: Client
    clock: Clock
    services: Services
    middleware: Middleware
    users: UserRepository
    activity: Activity
    api: TelegramAPI
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def on_unhandled_error(self) -> Callable[[BaseException], None] | None:
        return self.middleware.on_unhandled_error

    @on_unhandled_error.setter
    def on_unhandled_error(self, hook: Callable[[BaseException], None] | None) -> None:
        self.middleware.on_unhandled_error = hook

    async def start(self) -> None:
        """Database, then Telegram, then background tasks; `stop()` undoes whatever happened."""
        await self.database.start()
        await self.database.prepare(ALL_INDEXES)
        await self.services.callbacks.load()
        await self.client.start()
        await self._set_commands()
        self.tasks.append(
            asyncio.create_task(cache_cleanup_loop(CACHE_CLEANUP_SECONDS, self.clock.sleep))
        )
        self.tasks.append(
            asyncio.create_task(
                self.services.auto_delete.run(
                    self._delete_message, self._tell_deleted, AUTO_DELETE_SWEEP_SECONDS
                )
            )
        )
        me = self.client.me
        log.info("bot_started", username=me.username if me else None, bot_id=me.id if me else None)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        try:
            if self.client.is_connected:
                await self.client.stop()
        finally:
            await self.database.close()
        log.info("bot_stopped")

    async def _delete_message(self, chat_id: int, message_id: int) -> bool:
        """Bulk work goes through the wrapper: paced, FloodWait-safe, terminal errors as values."""
        result = await self.api.call(
            "delete_messages", chat_id, lambda: self.client.delete_messages(chat_id, message_id)
        )
        return result.ok

    async def _tell_deleted(self, chat_id: int, count: int) -> None:
        await self.api.call(
            "send_message",
            chat_id,
            lambda: self.client.send_message(chat_id, views.auto_deleted_text(count)),
        )

    async def _set_commands(self) -> None:
        """The command menu: user commands for everyone, admin ones in each admin's chat."""
        user_commands = [BotCommand(name, text) for name, text in views.USER_COMMANDS]
        await self.client.set_bot_commands(user_commands)
        admin_commands = user_commands + [
            BotCommand(name, text) for name, text in views.ADMIN_COMMANDS
        ]
        for admin_id in self.settings.admins:
            try:
                await self.client.set_bot_commands(
                    admin_commands, scope=BotCommandScopeChat(admin_id)
                )
            except (RPCError, KeyError, ValueError) as exc:
                # Telegram only knows chats with users who have started the bot.
                log.warning("admin_commands_not_set", admin_id=admin_id, reason=type(exc).__name__)


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
    settings: Settings,
    *,
    db: Database | None = None,
    telegram: Client | None = None,
    clock: Clock | None = None,
) -> App:
    """The one composition root: settings → database → repositories → services → handlers.

    Real adapters are the defaults; the test harness passes the Telegram double, its own
    database and a virtual clock, so what is tested is what runs.
    """
    clock = clock or SystemClock()
    database = db or build_database(settings)
    client = telegram or build_telegram_client(settings)
    client.set_parse_mode(ParseMode.HTML)

    users = MongoUserRepository(database)
    runtime_settings = MongoSettingsRepository(database)

    activity = Activity()
    user_service = UserService(users, clock)
    premium_gate = Gate.PREMIUM if settings.premium_only else Gate.FREE
    guards = Guards(
        settings.admins,
        users=user_service.get,
        clock=clock.now,
        global_gate=lambda: premium_gate,
        premium_info=settings.premium_info,
    )
    subscription = SubscriptionService(
        settings.auth_channels,
        mode=settings.auth_mode,
        source=PyrogramMembership(client),
        requests=MongoJoinRequestRepository(database),
        settings=runtime_settings,
        clock=clock,
        admins=settings.admins,
    )
    search = SearchService(
        MongoFileRepository(database), clock, searches=MongoSearchKeyRepository(database)
    )
    indexing = IndexingService(
        MongoFileRepository(database), search, clock, skip_duplicates=settings.skip_duplicates
    )
    services = Services(
        settings=settings,
        clock=clock,
        users=user_service,
        callbacks=CallbackCodec(runtime_settings),
        guards=guards,
        search=search,
        indexing=indexing,
        subscription=subscription,
        groups=GroupService(MongoChatRepository(database), clock),
        delivery=DeliveryService(
            MongoFileRepository(database),
            guards,
            subscription=subscription,
            caption_template=settings.custom_file_caption,
            protect_content=settings.protect_content,
        ),
        auto_delete=AutoDeleteService(
            MongoDeletionRepository(database),
            clock,
            minutes=settings.auto_delete_minutes,
            activity=activity,
        ),
        started_at=clock.monotonic(),
        database_description="embedded" if database.is_embedded else "external",
    )
    middleware = Middleware(
        on_user=user_service.interacted,
        admins=frozenset(settings.admins),
        limiter=UserRateLimiter(
            per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            clock=clock.monotonic,
        ),
    )
    register_handlers(client, services, middleware)
    return App(
        settings=settings,
        database=database,
        client=client,
        clock=clock,
        services=services,
        middleware=middleware,
        users=users,
        activity=activity,
        api=TelegramAPI(clock=clock.monotonic, sleep=clock.sleep),
    )


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
        "command",
        nargs="?",
        choices=["run", "simulate"],
        default="run",
        help="run (default): the bot; simulate: the real bot on a Telegram double, no token needed",
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

    quiet = args.health_check or args.command == "simulate"
    configure_logging(
        level="WARNING" if quiet else settings.log_level,
        json=settings.enable_json_logging,
        secrets=settings.secret_values(),
    )

    if args.health_check:
        report = asyncio.run(
            health_check(settings, timeout=args.startup_timeout, offline=args.offline)
        )
        print(json.dumps(report.to_dict()) if args.json else report.to_table())
        return EXIT_OK if report.healthy else EXIT_UNHEALTHY

    if args.command == "simulate":
        from core.testing.simulate import run_simulation  # noqa: PLC0415 - test kit, on demand

        return asyncio.run(run_simulation(settings, sys.stdin, sys.stdout))

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

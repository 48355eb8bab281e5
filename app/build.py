"""`App` and `build_app`: the one place that wires the bot together."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrogram import Client
from pyrogram.enums import ParseMode
from pyrogram.errors import RPCError
from pyrogram.types import BotCommand, BotCommandScopeChat

from app.ops import MONITOR_SECONDS, Ops
from app.supervisor import Supervisor
from core.cache.enhanced_cache import expire_all_caches
from core.clock import Clock, SystemClock
from core.config import ConfigurationError, Settings, missing_telegram_credentials
from core.flags import parse_defaults
from core.logging import get_logger
from core.metrics import Metrics
from core.models import User
from core.telegram.api_wrapper import TelegramAPI
from core.telegram.broadcast import BROADCAST_LIMITS, PyrogramBroadcastSender
from core.telegram.channels import PyrogramChannels
from core.telegram.login import telegram_login_failure
from core.telegram.membership import PyrogramMembership
from core.traces import TraceStore
from core.utils.activity import Activity
from core.utils.guards import Gate, Guards
from core.utils.ratelimit import UserRateLimiter
from handlers import broadcast, library, log_views, member_views, views
from handlers.delivery import TelegramDeliveryScreen
from handlers.middleware import Middleware
from handlers.registry import register_handlers
from repositories import ALL_INDEXES, MIGRATIONS
from repositories.broadcasts import MongoRecipientRepository
from repositories.channels import MongoChannelRepository
from repositories.chats import MongoChatRepository
from repositories.daily import MongoDailyCounterRepository
from repositories.deletions import MongoDeletionRepository
from repositories.files import MongoFileRepository
from repositories.flags import MongoFlagRepository
from repositories.instances import MongoInstanceRepository
from repositories.jobs import MongoJobRepository
from repositories.join_requests import MongoJoinRequestRepository
from repositories.links import MongoLinkRepository
from repositories.mongo import Database
from repositories.prompts import MongoPromptRepository
from repositories.searches import MongoSearchKeyRepository
from repositories.settings import MongoSettingsRepository
from repositories.users import MongoUserRepository
from services import Services
from services.alerts import Alerts
from services.autodelete import AutoDeleteService
from services.batch import BatchDeliveries
from services.broadcast import Broadcaster
from services.callbacks import CallbackCodec
from services.channel_index import ChannelIndexer
from services.channels import ChannelDirectory
from services.delivery import Delivered, DeliveryService
from services.flags import REFRESH_SECONDS, FlagService
from services.groups import GroupService
from services.indexing import IndexingService
from services.instance_lease import InstanceLease
from services.links import LinkService
from services.log_channel import LogChannel
from services.metadata import MetadataService
from services.notices import GONE_CODES, Notices
from services.plans import PlanReminders
from services.ports import UserRepository
from services.prompts import PromptDecisions
from services.search import search_over_index
from services.search_index import PURGE_INTERVAL
from services.stats import StatsService, StatsSources, version
from services.subscription import SubscriptionService
from services.users import UserService

__all__ = [
    "App",
    "build_app",
    "build_database",
    "build_telegram_client",
]

log = get_logger("bot")

CACHE_CLEANUP_SECONDS = 60.0
AUTO_DELETE_SWEEP_SECONDS = 30.0
PLAN_SWEEP_SECONDS = 60.0  # premium reminders are sent within a minute of falling due
SEARCH_INDEX_CATCH_UP_SECONDS = 5.0  # other instances' writes reach this one's index this fast


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
    ops: Ops
    supervisor: Supervisor
    lease: InstanceLease | None = None
    force_restart: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    started: bool = False

    @property
    def on_unhandled_error(self) -> Callable[[BaseException], None] | None:
        return self.middleware.on_unhandled_error

    @on_unhandled_error.setter
    def on_unhandled_error(self, hook: Callable[[BaseException], None] | None) -> None:
        self.middleware.on_unhandled_error = hook

    async def start(self, *, login_timeout: float | None = None) -> None:
        """Database, then Telegram, then background tasks; `stop()` undoes whatever happened.

        A Telegram login that fails raises `TelegramLoginError` with a reason a person reads
        ("BOT_TOKEN was rejected by Telegram", "no network route to Telegram ...").
        """
        await self.database.start()
        await self.database.prepare(ALL_INDEXES, MIGRATIONS)
        background = self.supervisor
        if self.lease is not None:  # one process per bot token (InstanceRunningError)
            await self.lease.acquire(force=self.force_restart)
            background.worker("instance_lease", self.lease.run)
            background.start(into=self.tasks)
        await self.services.callbacks.load()
        await self.services.flags.load()
        await self.services.channels.load()
        search_index = self.services.search.index
        await search_index.start()
        try:
            await asyncio.wait_for(self.client.start(), login_timeout)
        except Exception as exc:
            raise telegram_login_failure(exc) from exc
        await self._set_commands()
        services = self.services
        # Every background task, supervised (docs/ARCHITECTURE.md#background-work).
        background.every("cache_cleanup", CACHE_CLEANUP_SECONDS, _expire_caches)
        background.every(
            "auto_delete",
            AUTO_DELETE_SWEEP_SECONDS,
            lambda: services.auto_delete.sweep(self._delete_message, self._tell_deleted),
            at_start=True,  # what came due while the bot was down
        )
        background.every(
            "premium_reminders", PLAN_SWEEP_SECONDS, services.plans.sweep, at_start=True
        )
        background.every(
            "search_index_catch_up", SEARCH_INDEX_CATCH_UP_SECONDS, search_index.catch_up
        )
        background.every(
            "search_tombstone_purge", PURGE_INTERVAL, lambda: search_index.purge(self.clock)
        )
        background.every("flags_refresh", REFRESH_SECONDS, services.flags.load)
        background.every(
            "monitor",
            MONITOR_SECONDS,
            lambda: self.ops.check_once(self.health, self._gauges, self._jobs_report),
        )
        background.worker("metadata", lambda: services.metadata.run(self.clock))
        background.worker("index_jobs", services.channel_index.run)
        background.worker("broadcasts", services.broadcasts.run)
        background.worker("batch_deliveries", services.batches.run)
        background.start(into=self.tasks)
        await self.ops.start_http(self.health)
        me = self.client.me
        self.started = True
        log.info("bot_started", username=me.username if me else None, bot_id=me.id if me else None)
        if self.services.log_channel.enabled:
            self.services.log_channel.post(
                log_views.log_started(
                    version(),
                    await self.services.indexing.count(),
                    await self.services.users.count(),
                )
            )

    async def stop(self) -> None:
        if self.started and self.services.log_channel.enabled:
            self.services.log_channel.post(log_views.log_stopping())
        await self.services.log_channel.flush()
        await self.ops.stop()
        await self.supervisor.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        await self.services.batches.close()
        await self.services.notices.close()
        await self.services.metadata.close()
        await self.services.search.index.close()
        if self.lease is not None:
            await self.lease.release()
        try:
            if self.client.is_connected:
                await self.client.stop()
        except Exception as exc:  # noqa: BLE001 - a half-started client must not hide the cause
            log.debug("telegram_stop_failed", error=type(exc).__name__)
        finally:
            await self.database.close()
        if self.started:
            self.started = False
            log.info("bot_stopped")

    async def wait_until_stopped(self, stop: asyncio.Event) -> bool:
        """Until `stop` is set, or another process took this bot token over (True)."""
        waits = {asyncio.ensure_future(stop.wait())}
        if self.lease is not None:
            waits.add(asyncio.ensure_future(self.lease.lost.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return self.lease is not None and self.lease.lost.is_set()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """What `GET /health` answers: (healthy, the JSON body)."""
        return await self.ops.health(
            self.database, self.client, self._index_lag, self._running_jobs, self.supervisor
        )

    async def _index_lag(self) -> int | None:
        index = self.services.search.index
        if not index.ready:
            return None
        return max(0, await self.services.indexing.last_sequence() - index.watermark)

    async def _running_jobs(self) -> int:
        return await self.services.channel_index.running_jobs()

    async def _jobs_report(self) -> tuple[dict[str, float], list[tuple[str, str, str]]]:
        """Progress of the running index job and broadcast, and jobs stopped on a problem."""
        progress: dict[str, float] = {}
        failed: list[tuple[str, str, str]] = []
        indexer, broadcasts = self.services.channel_index, self.services.broadcasts
        for job in await indexer.recent(10):
            if job.state == "running":
                progress["index"] = indexer.progress_of(job).fraction
            elif job.state in ("paused", "failed") and job.error:
                failed.append((job.id, "index", job.error))
        for job in await broadcasts.recent(10):
            if job.state == "running":
                progress["broadcast"] = broadcasts.progress_of(job).fraction
            elif job.state == "failed" and job.error:
                failed.append((job.id, "broadcast", job.error))
        return progress, failed

    async def _gauges(self) -> tuple[int, int]:
        return await self.services.indexing.count(), await self.services.users.count()

    async def _delete_message(self, chat_id: int, message_id: int) -> bool:
        """Bulk work goes through the wrapper: paced, FloodWait-safe, terminal errors as values."""
        result = await self.api.call(
            "delete_messages", chat_id, lambda: self.client.delete_messages(chat_id, message_id)
        )
        return result.ok

    async def _tell_deleted(self, chat_id: int, count: int) -> None:
        result = await self.api.call(
            "send_message",
            chat_id,
            lambda: self.client.send_message(chat_id, views.auto_deleted_text(count)),
        )
        if result.error in GONE_CODES:
            await self.services.users.mark_blocked(chat_id)

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


async def _expire_caches() -> None:
    """Free expired cache entries even when nobody reads them."""
    expire_all_caches()


def bot_id_of(client: Client) -> int | None:
    """The bot's id, the digits before the colon of its token (None without a token)."""
    token = client.bot_token or ""
    digits = token.split(":", 1)[0]
    return int(digits) if digits.isdigit() else None


def instance_id(data_dir: Path) -> str:
    """This installation's name for the jobs it runs, kept in DATA_DIR: a bot restarted on the
    same DATA_DIR resumes its jobs at once, another instance only once their lease lapses."""
    path = data_dir / "instance-id"
    try:
        return path.read_text().strip() or _new_instance_id(path)
    except FileNotFoundError:
        return _new_instance_id(path)


def _new_instance_id(path: Path) -> str:
    value = f"bot-{uuid.uuid4().hex[:12]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return value


def build_database(settings: Settings) -> Database:
    uri = settings.database_uri.get_secret_value() if settings.database_uri else None
    return Database(
        uri,
        settings.database_name,
        data_dir=settings.data_dir,
        operation_timeout=settings.database_timeout,
    )


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


def _lease(
    settings: Settings, database: Database, clock: Clock, owner: str
) -> InstanceLease | None:
    """The one-process-per-token lease, keyed by the bot's id (BOT_TOKEN's public part); none
    without a token (the Telegram double in tests and `simulate`)."""
    if settings.bot_token is None:
        return None
    bot_id = settings.bot_token.get_secret_value().split(":", 1)[0]
    return InstanceLease(MongoInstanceRepository(database), clock, bot=bot_id, instance=owner)


def _alerts(settings: Settings, client: Client, clock: Clock, activity: Activity) -> Alerts:
    async def send_alert(chat_id: int, text: str) -> int | None:
        sent = await client.send_message(chat_id, text)
        return sent.id if sent is not None else None

    async def edit_alert(chat_id: int, message_id: int, text: str) -> object:
        return await client.edit_message_text(chat_id, message_id, text)

    return Alerts(
        settings.alert_chat or settings.log_channel,
        send_alert,
        edit_alert,
        clock,
        enabled=settings.enable_alerts,
        per_hour=settings.alerts_per_hour,
        activity=activity,
    )


def build_app(
    settings: Settings,
    *,
    db: Database | None = None,
    telegram: Client | None = None,
    clock: Clock | None = None,
    force_restart: bool = False,
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
    files = MongoFileRepository(database, now=clock.now)
    runtime_settings = MongoSettingsRepository(database)
    activity = Activity()
    api = TelegramAPI(clock=clock.monotonic, sleep=clock.sleep)

    async def send_text(chat_id: int, text: str) -> object:
        return await client.send_message(chat_id, text)

    log_channel = LogChannel(settings.log_channel, send_text, clock, activity=activity)
    metrics = Metrics()
    traces = TraceStore(settings.trace_store_size)
    alerts = _alerts(settings, client, clock, activity)
    user_service = UserService(
        users,
        clock,
        daily=MongoDailyCounterRepository(database),
        on_new=lambda user: log_channel.post(log_views.log_new_user(user)),
    )
    premium_gate = Gate.PREMIUM if settings.premium_only else Gate.FREE
    guards = Guards(
        settings.admins,
        users=user_service.get,
        clock=clock.now,
        global_gate=lambda: premium_gate,
        premium_info=settings.premium_info,
    )
    membership = PyrogramMembership(client)
    subscription = SubscriptionService(
        settings.auth_channels,
        mode=settings.auth_mode,
        source=membership,
        requests=MongoJoinRequestRepository(database),
        settings=runtime_settings,
        clock=clock,
        admins=settings.admins,
    )
    search = search_over_index(
        files,
        clock,
        settings.data_dir / "search",
        searches=MongoSearchKeyRepository(database),
        tombstone_days=settings.search_tombstone_days,
        activity=activity,
        on_timing=metrics.search_seconds.observe,
    )
    search_index = search.index
    metadata = MetadataService(
        files,
        workers=settings.metadata_workers
        if settings.metadata_workers is not None
        else max(1, (os.cpu_count() or 1) - 1),  # one core left for the bot itself
        on_changed=search.changed,
        activity=activity,
    )

    callbacks = CallbackCodec(runtime_settings)
    notices = Notices(send_text, user_service, clock, activity=activity)
    indexing = IndexingService(
        files,
        search,
        clock,
        skip_duplicates=settings.skip_duplicates,
        metadata=metadata,
        use_guessit=settings.accurate_metadata,
    )

    async def tell(chat_id: int, text: str) -> None:
        notices.post(chat_id, text)

    async def remind_plan(user: User, notice: str) -> None:
        notices.post(user.id, member_views.plan_reminder_text(user, notice, settings.premium_info))

    async def index_census() -> tuple[Mapping[str, int], int] | None:
        census = await search_index.census()
        return (census.kinds, census.disk_bytes) if census else None

    chats = MongoChatRepository(database)
    group_service = GroupService(
        chats,
        clock,
        members=membership,
        admins=settings.admins,
        on_new=lambda chat: log_channel.post(log_views.log_new_group(chat)),
    )
    owner = instance_id(settings.data_dir)
    # Jobs belong to the bot (its token's id), not to the installation: another bot on this
    # database never takes them over; this bot's other instance does, after a crash.
    jobs = MongoJobRepository(database, bot_id=bot_id_of(client))

    auto_delete = AutoDeleteService(
        MongoDeletionRepository(database), clock, minutes=settings.auto_delete_minutes
    )
    deliveries = DeliveryService(
        files,
        guards,
        screen=TelegramDeliveryScreen(client, callbacks.encode),
        users=user_service,
        auto_delete=auto_delete,
        notices=notices,
        subscription=subscription,
        caption_template=settings.custom_file_caption,
        protect_content=settings.protect_content,
        sleep=clock.sleep,
    )

    async def deliver_batch_file(user_id: int, file_id: str, gate: str | None) -> bool:
        link_gate = Gate(gate) if gate else None
        outcome = await deliveries.deliver(user_id, file_id, link_gate=link_gate)
        return outcome is Delivered.FILE

    async def group_left(chat_id: int) -> None:
        await group_service.left(chat_id)

    channels = ChannelDirectory(
        MongoChannelRepository(database),
        files,
        clock,
        seeds=settings.channels,
        settings=runtime_settings,
    )

    services = Services(
        users=user_service,
        callbacks=callbacks,
        guards=guards,
        search=search,
        indexing=indexing,
        subscription=subscription,
        groups=group_service,
        delivery=deliveries,
        auto_delete=auto_delete,
        stats=StatsService(
            user_service,
            clock,
            database=database.description,
            sources=StatsSources(
                files=files.count,
                census=index_census,
                channels=channels.count,
                groups=chats.count_active,
                sizes=database.sizes,
            ),
        ),
        notices=notices,
        metadata=metadata,
        channel_index=ChannelIndexer(
            jobs,
            indexing,
            PyrogramChannels(client),
            clock,
            channels=channels,
            show=library.make_progress_board(client, callbacks.encode, log_channel),
            tell=tell,
            batch=settings.index_batch_size,
            progress_seconds=settings.index_progress_seconds,
            owner=owner,
            activity=activity,
        ),
        channels=channels,
        plans=PlanReminders(users, clock, remind_plan),
        links=LinkService(MongoLinkRepository(database), files, clock),
        log_channel=log_channel,
        traces=traces,
        flags=FlagService(
            MongoFlagRepository(database),
            clock,
            defaults=parse_defaults(settings.flags),
            admins=frozenset(settings.admins),
            users=user_service.get,
        ),
        prompts=PromptDecisions(MongoPromptRepository(database), clock),
        batches=BatchDeliveries(
            jobs,
            files,
            clock,
            deliver_batch_file,
            owner=owner,
            activity=activity,
        ),
        broadcasts=Broadcaster(
            jobs,
            MongoRecipientRepository(database),
            PyrogramBroadcastSender(
                client,
                TelegramAPI(limits=BROADCAST_LIMITS, clock=clock.monotonic, sleep=clock.sleep),
            ),
            clock,
            show=broadcast.make_broadcast_board(client, callbacks.encode, log_channel),
            user_gone=user_service.mark_blocked,
            group_gone=group_left,
            progress_seconds=settings.index_progress_seconds,
            owner=owner,
            activity=activity,
        ),
    )
    ops = Ops(settings, clock, alerts, metrics=metrics, traces=traces, activity=activity)
    middleware = Middleware(
        on_trace=ops.observe,
        on_failure=ops.on_failure,
        on_user=user_service.interacted,
        is_banned=guards.banned,
        on_recipient_gone=user_service.mark_blocked,
        admins=frozenset(settings.admins),
        limiter=UserRateLimiter(
            per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            clock=clock.monotonic,
        ),
    )
    ops.instrument(client)
    register_handlers(client, services, middleware, debug=settings.enable_debug_cmd)
    return App(
        settings=settings,
        database=database,
        client=client,
        clock=clock,
        services=services,
        middleware=middleware,
        users=users,
        activity=activity,
        api=api,
        ops=ops,
        supervisor=Supervisor(clock, activity, on_run=metrics.observe_background),
        lease=_lease(settings, database, clock, owner),
        force_restart=force_restart,
    )

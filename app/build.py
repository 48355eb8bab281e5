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
from core.utils.errors import StorageError
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
from services.users import ACTIVITY_FLUSH_SECONDS, UserService

__all__ = [
    "App",
    "Repositories",
    "build_app",
    "build_background",
    "build_database",
    "build_handlers",
    "build_repositories",
    "build_services",
    "build_telegram_client",
]

log = get_logger("bot")

CACHE_CLEANUP_SECONDS = 60.0
AUTO_DELETE_SWEEP_SECONDS = 30.0
PLAN_SWEEP_SECONDS = 60.0  # premium reminders are sent within a minute of falling due
SEARCH_INDEX_CATCH_UP_SECONDS = 5.0  # other instances' writes reach this one's index this fast
LEASE_TASK = "instance_lease"


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

    @property
    def activity(self) -> Activity:
        """Background work in progress (the harness waits for it): the supervisor's."""
        return self.supervisor.activity

    async def start(self, *, login_timeout: float | None = None) -> None:
        """Database, then Telegram, then background tasks; `stop()` undoes whatever happened.

        A Telegram login that fails raises `TelegramLoginError` with a reason a person reads
        ("BOT_TOKEN was rejected by Telegram", "no network route to Telegram ...").

        Every task started from here (the update workers, the supervised tasks, what they
        start) counts its background work in `activity` (`core/utils/activity.py`).
        """
        token = self.activity.bind()
        try:
            await self._start(login_timeout)
        finally:
            self.activity.unbind(token)

    async def _start(self, login_timeout: float | None) -> None:
        await self.database.start()
        await self.database.prepare(ALL_INDEXES, MIGRATIONS)
        if self.lease is not None:  # one process per bot token (InstanceRunningError)
            await self.lease.acquire(force=self.force_restart)
            self.supervisor.start(into=self.tasks, only=frozenset({LEASE_TASK}))
        await self.services.callbacks.load()
        await self.services.flags.load()
        await self.services.channels.load()
        await self.services.search.index.start()
        try:
            await asyncio.wait_for(self.client.start(), login_timeout)
        except Exception as exc:
            raise telegram_login_failure(exc) from exc
        await self._set_commands()
        self.supervisor.start(into=self.tasks)  # every other background task (build_background)
        await self.ops.start_http(self.health)
        me = self.client.me
        self.started = True
        log.info("bot_started", username=me.username if me else None, bot_id=me.id if me else None)
        if self.services.log_channel.enabled:
            files = await self.services.search.index.documents()  # None while rebuilding
            self.services.log_channel.post(
                log_views.log_started(version(), files, await self.services.users.count())
            )

    async def stop(self) -> None:
        if self.started and self.services.log_channel.enabled:
            self.services.log_channel.post(log_views.log_stopping())
        await self.services.log_channel.flush()
        await self.ops.stop()
        await self.supervisor.stop()
        if self.started:
            try:
                await self.services.users.flush()  # the searches and downloads counted since
            except StorageError as exc:
                log.warning("activity_not_flushed", error=str(exc))
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

    async def jobs_report(self) -> tuple[dict[str, float], list[tuple[str, str, str]]]:
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

    async def gauges(self) -> tuple[int, int]:
        """(files, users): the files as the search index holds them (the database's count
        only while it is rebuilt: a count can take long on a large library)."""
        files = await self.services.search.index.documents()
        if files is None:
            files = await self.services.indexing.count()
        return files, await self.services.users.count()

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Bulk work goes through the wrapper: paced, FloodWait-safe, terminal errors as values."""
        result = await self.api.call(
            "delete_messages", chat_id, lambda: self.client.delete_messages(chat_id, message_id)
        )
        return result.ok

    async def tell_deleted(self, chat_id: int, count: int) -> None:
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
        embedded_cache=settings.embedded_db_cache,
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


def build_app(
    settings: Settings,
    *,
    db: Database | None = None,
    telegram: Client | None = None,
    clock: Clock | None = None,
    force_restart: bool = False,
) -> App:
    """The one composition root: settings → database → repositories → services → handlers →
    background work, each built once with what it needs.

    Real adapters are the defaults; the test harness passes the Telegram double, its own
    database and a virtual clock, so what is tested is what runs.
    """
    clock = clock or SystemClock()
    database = db or build_database(settings)
    client = telegram or build_telegram_client(settings)
    client.set_parse_mode(ParseMode.HTML)
    owner = instance_id(settings.data_dir)
    repositories = build_repositories(database, clock, bot_id=bot_id_of(client))
    ops = Ops(
        settings,
        clock,
        _alerts(settings, client, clock),
        metrics=Metrics(),
        traces=TraceStore(settings.trace_store_size),
    )
    services = build_services(settings, repositories, client, clock, ops, owner=owner)
    app = App(
        settings=settings,
        database=database,
        client=client,
        clock=clock,
        services=services,
        middleware=build_handlers(settings, client, services, ops),
        users=repositories.users,
        api=TelegramAPI(clock=clock.monotonic, sleep=clock.sleep),
        ops=ops,
        supervisor=Supervisor(clock, on_run=ops.metrics.observe_background),
        lease=_lease(settings, repositories, clock, owner),
        force_restart=force_restart,
    )
    build_background(app)
    return app


@dataclass(frozen=True)
class Repositories:
    """One repository per collection (docs/ARCHITECTURE.md#state), each built once."""

    database: Database
    users: MongoUserRepository
    files: MongoFileRepository
    settings: MongoSettingsRepository
    jobs: MongoJobRepository
    chats: MongoChatRepository
    channels: MongoChannelRepository
    daily: MongoDailyCounterRepository
    deletions: MongoDeletionRepository
    join_requests: MongoJoinRequestRepository
    links: MongoLinkRepository
    flags: MongoFlagRepository
    prompts: MongoPromptRepository
    searches: MongoSearchKeyRepository
    recipients: MongoRecipientRepository
    instances: MongoInstanceRepository


def build_repositories(database: Database, clock: Clock, *, bot_id: int | None) -> Repositories:
    """`bot_id`: jobs belong to the bot (its token's id), not to the installation, so another
    bot on this database never takes them over; this bot's other instance does, after a crash."""
    return Repositories(
        database=database,
        users=MongoUserRepository(database),
        files=MongoFileRepository(database, now=clock.now),
        settings=MongoSettingsRepository(database),
        jobs=MongoJobRepository(database, bot_id=bot_id),
        chats=MongoChatRepository(database),
        channels=MongoChannelRepository(database),
        daily=MongoDailyCounterRepository(database),
        deletions=MongoDeletionRepository(database),
        join_requests=MongoJoinRequestRepository(database),
        links=MongoLinkRepository(database),
        flags=MongoFlagRepository(database),
        prompts=MongoPromptRepository(database),
        searches=MongoSearchKeyRepository(database),
        recipients=MongoRecipientRepository(database),
        instances=MongoInstanceRepository(database),
    )


def build_services(
    settings: Settings,
    repos: Repositories,
    client: Client,
    clock: Clock,
    ops: Ops,
    *,
    owner: str,
) -> Services:
    """Every service, in the order they need each other; Telegram reaches them only as the
    adapters of `core/telegram/` and the handlers' views (progress boards, the delivery
    screen)."""
    files, database = repos.files, repos.database

    async def send_text(chat_id: int, text: str) -> object:
        return await client.send_message(chat_id, text)

    log_channel = LogChannel(settings.log_channel, send_text, clock)
    users = UserService(
        repos.users,
        clock,
        daily=repos.daily,
        on_new=lambda user: log_channel.post(log_views.log_new_user(user)),
    )
    premium_gate = Gate.PREMIUM if settings.premium_only else Gate.FREE
    guards = Guards(
        settings.admins,
        users=users.get,
        clock=clock.now,
        global_gate=lambda: premium_gate,
        premium_info=settings.premium_info,
    )
    membership = PyrogramMembership(client)
    subscription = SubscriptionService(
        settings.auth_channels,
        mode=settings.auth_mode,
        source=membership,
        requests=repos.join_requests,
        settings=repos.settings,
        clock=clock,
        admins=settings.admins,
    )
    search = search_over_index(
        files,
        clock,
        settings.data_dir / "search",
        searches=repos.searches,
        tombstone_days=settings.search_tombstone_days,
        on_timing=ops.metrics.search_seconds.observe,
    )
    metadata = MetadataService(
        files,
        workers=settings.metadata_workers
        if settings.metadata_workers is not None
        else max(1, (os.cpu_count() or 1) - 1),  # one core left for the bot itself
        on_changed=search.changed,
    )
    callbacks = CallbackCodec(repos.settings)
    notices = Notices(send_text, users, clock)
    indexing = IndexingService(
        files,
        search,
        clock,
        skip_duplicates=settings.skip_duplicates,
        metadata=metadata,
        use_guessit=settings.accurate_metadata,
    )
    groups = GroupService(
        repos.chats,
        clock,
        members=membership,
        admins=settings.admins,
        on_new=lambda chat: log_channel.post(log_views.log_new_group(chat)),
    )
    channels = ChannelDirectory(
        repos.channels, files, clock, seeds=settings.channels, settings=repos.settings
    )
    auto_delete = AutoDeleteService(repos.deletions, clock, minutes=settings.auto_delete_minutes)
    delivery = DeliveryService(
        files,
        guards,
        screen=TelegramDeliveryScreen(client, callbacks.encode),
        users=users,
        auto_delete=auto_delete,
        notices=notices,
        subscription=subscription,
        caption_template=settings.custom_file_caption,
        protect_content=settings.protect_content,
        sleep=clock.sleep,
    )

    async def tell(chat_id: int, text: str) -> None:
        notices.post(chat_id, text)

    async def remind_plan(user: User, notice: str) -> None:
        notices.post(user.id, member_views.plan_reminder_text(user, notice, settings.premium_info))

    async def index_census() -> tuple[Mapping[str, int], int] | None:
        census = await search.index.census()
        return (census.kinds, census.disk_bytes) if census else None

    async def deliver_batch_file(user_id: int, file_id: str, gate: str | None) -> bool:
        link_gate = Gate(gate) if gate else None
        return await delivery.deliver(user_id, file_id, link_gate=link_gate) is Delivered.FILE

    return Services(
        users=users,
        callbacks=callbacks,
        guards=guards,
        search=search,
        indexing=indexing,
        subscription=subscription,
        groups=groups,
        delivery=delivery,
        auto_delete=auto_delete,
        stats=StatsService(
            users,
            clock,
            database=database.description,
            sources=StatsSources(
                files=files.count,
                census=index_census,
                channels=channels.count,
                groups=repos.chats.count_active,
                sizes=database.sizes,
            ),
        ),
        notices=notices,
        metadata=metadata,
        channel_index=ChannelIndexer(
            repos.jobs,
            indexing,
            PyrogramChannels(client),
            clock,
            channels=channels,
            show=library.make_progress_board(client, callbacks.encode, log_channel),
            tell=tell,
            batch=settings.index_batch_size,
            progress_seconds=settings.index_progress_seconds,
            owner=owner,
        ),
        channels=channels,
        plans=PlanReminders(repos.users, clock, remind_plan),
        links=LinkService(repos.links, files, clock),
        log_channel=log_channel,
        traces=ops.traces,
        flags=FlagService(
            repos.flags,
            clock,
            defaults=parse_defaults(settings.flags),
            admins=frozenset(settings.admins),
            users=users.get,
        ),
        prompts=PromptDecisions(repos.prompts, clock),
        batches=BatchDeliveries(
            repos.jobs,
            files,
            clock,
            deliver_batch_file,
            user_gone=users.mark_blocked,
            owner=owner,
        ),
        broadcasts=Broadcaster(
            repos.jobs,
            repos.recipients,
            PyrogramBroadcastSender(
                client,
                TelegramAPI(limits=BROADCAST_LIMITS, clock=clock.monotonic, sleep=clock.sleep),
            ),
            clock,
            show=broadcast.make_broadcast_board(client, callbacks.encode, log_channel),
            user_gone=users.mark_blocked,
            group_gone=groups.left,
            progress_seconds=settings.index_progress_seconds,
            owner=owner,
        ),
    )


def build_handlers(settings: Settings, client: Client, services: Services, ops: Ops) -> Middleware:
    """The middleware every update meets, and every handler registered behind it."""
    middleware = Middleware(
        on_trace=ops.observe,
        on_failure=ops.on_failure,
        on_user=services.users.interacted,
        is_banned=services.guards.banned,
        on_recipient_gone=services.users.mark_blocked,
        is_admin=services.guards.is_admin,
        limiter=UserRateLimiter(
            per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            clock=ops.clock.monotonic,
        ),
    )
    ops.instrument(client)
    register_handlers(client, services, middleware, debug=settings.enable_debug_cmd)
    return middleware


def build_background(app: App) -> None:
    """Every background task, supervised (docs/ARCHITECTURE.md#background-work). `App.start`
    starts the lease before the Telegram login and the rest after it."""
    background, services, clock = app.supervisor, app.services, app.clock
    index = services.search.index
    if app.lease is not None:  # one process per bot token
        background.worker(LEASE_TASK, app.lease.run)
    background.every("cache_cleanup", CACHE_CLEANUP_SECONDS, _expire_caches)
    background.every(
        "auto_delete",
        AUTO_DELETE_SWEEP_SECONDS,
        lambda: services.auto_delete.sweep(app.delete_message, app.tell_deleted),
        at_start=True,  # what came due while the bot was down
    )
    background.every("premium_reminders", PLAN_SWEEP_SECONDS, services.plans.sweep, at_start=True)
    background.every("search_index_catch_up", SEARCH_INDEX_CATCH_UP_SECONDS, index.catch_up)
    background.every("search_tombstone_purge", PURGE_INTERVAL, lambda: index.purge(clock))
    background.every("flags_refresh", REFRESH_SECONDS, services.flags.load)
    background.every("activity_flush", ACTIVITY_FLUSH_SECONDS, services.users.flush)
    background.every(
        "monitor",
        MONITOR_SECONDS,
        lambda: app.ops.check_once(app.health, app.gauges, app.jobs_report),
    )
    background.worker("metadata", lambda: services.metadata.run(clock))
    background.worker("index_jobs", services.channel_index.run)
    background.worker("broadcasts", services.broadcasts.run)
    background.worker("batch_deliveries", services.batches.run)


def _lease(
    settings: Settings, repos: Repositories, clock: Clock, owner: str
) -> InstanceLease | None:
    """The one-process-per-token lease, keyed by the bot's id (BOT_TOKEN's public part); none
    without a token (the Telegram double in tests and `simulate`)."""
    if settings.bot_token is None:
        return None
    bot_id = settings.bot_token.get_secret_value().split(":", 1)[0]
    return InstanceLease(repos.instances, clock, bot=bot_id, instance=owner)


def _alerts(settings: Settings, client: Client, clock: Clock) -> Alerts:
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
    )

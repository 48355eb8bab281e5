"""`BotHarness`: the real app (`app.build_app`) on the Telegram double, a database and a virtual
clock, driven the way users drive the bot. Documented in docs/TESTING.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import socket
import tempfile
import traceback
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from pyrogram import types

from app import App, build_app
from core.config import Settings
from core.logging import configure_logging, wants_json
from repositories.embedded import EmbeddedServer
from repositories.mongo import Database
from testkit.clock import VirtualClock
from testkit.dbproxy import DatabaseProxy
from testkit.double.state import ZERO_CHANNEL_ID
from testkit.telegram import (
    ChannelState,
    DoubleClient,
    StoredMessage,
    TelegramDouble,
    UnknownRPCError,
)

__all__ = [
    "BotHarness",
    "BotMessage",
    "Button",
    "CallbackAnswer",
    "HarnessChannel",
    "HarnessError",
    "HarnessGroup",
    "HarnessUser",
    "InlineAnswer",
    "InlineResult",
    "Media",
    "Replies",
    "snapshot",
]

IDLE_TIMEOUT = 120.0  # real seconds: a 5,000-post job on a busy machine; tests have 180 s each
AUTOJUMP_SECONDS = 10.0  # work waiting this long or less (pacing, short FloodWaits) is let through
STUCK_TURNS = 20  # loop turns without progress before a busy handler's short timer is let pass


class HarnessError(AssertionError):
    """A handler raised, the dispatcher failed, or the bot called an RPC the double lacks."""


class _HarnessSettings(Settings):
    """Settings from the harness's arguments only: the developer's environment never leaks in."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


# --- what a test sees -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str | None = None
    url: str | None = None
    switch_inline: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    file_name: str | None
    unique_id: str
    kind: str  # document | video | audio
    file_id: str
    size: int | None
    content: bytes | None = None  # a document the bot uploaded (e.g. /users' CSV)


@dataclass(frozen=True, slots=True)
class BotMessage:
    """A message as it is at the moment the snapshot was taken."""

    id: int
    chat_id: int
    text: str
    html: str
    buttons: tuple[tuple[Button, ...], ...]
    media: Media | None
    protect_content: bool
    edited: bool
    deleted: bool
    outgoing: bool

    @property
    def all_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]

    def button(self, label: str) -> Button:
        """The first button whose text contains `label`."""
        for b in self.all_buttons:
            if label in b.text:
                return b
        labels = [b.text for b in self.all_buttons]
        raise AssertionError(f"no button containing {label!r}; buttons are {labels}")


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    text: str | None
    alert: bool
    url: str | None


class Replies(list[BotMessage]):
    """The bot's new or edited messages after one action (and the callback answer, if any)."""

    answer: CallbackAnswer | None = None

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self]


@dataclass(frozen=True, slots=True)
class InlineResult:
    id: str
    title: str | None
    description: str | None
    file: Media | None
    caption: str | None
    buttons: tuple[Button, ...] = ()  # the keyboard posted with the result


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    answered: bool
    results: tuple[InlineResult, ...] = ()
    next_offset: str = ""
    cache_time: int = 0
    is_personal: bool = False
    switch_pm_text: str | None = None
    switch_pm_parameter: str | None = None


def _media(parsed: types.Message, content: bytes | None = None) -> Media | None:
    for kind in ("video", "audio", "document"):
        item = getattr(parsed, kind, None)
        if item is not None:
            return Media(
                file_name=getattr(item, "file_name", None),
                unique_id=item.file_unique_id,
                kind=kind,
                file_id=item.file_id,
                size=getattr(item, "file_size", None),
                content=content,
            )
    return None


def _buttons(parsed: types.Message) -> tuple[tuple[Button, ...], ...]:
    markup = parsed.reply_markup
    if not isinstance(markup, types.InlineKeyboardMarkup):
        return ()
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for b in row:
            data = b.callback_data
            switch = b.switch_inline_query_current_chat
            if switch is None:
                switch = b.switch_inline_query
            buttons.append(
                Button(
                    text=b.text,
                    data=data.decode() if isinstance(data, bytes) else data,
                    url=b.url,
                    switch_inline=switch,
                )
            )
        rows.append(tuple(buttons))
    return tuple(rows)


def snapshot(stored: StoredMessage) -> BotMessage:
    parsed = stored.parsed
    if parsed is None:
        raise RuntimeError("the double keeps no parse of its messages (parse_messages is off)")
    body = parsed.text if parsed.text is not None else parsed.caption
    return BotMessage(
        id=stored.id,
        chat_id=stored.chat_id,
        text=str(body) if body is not None else "",
        html=body.html if body is not None else "",
        buttons=_buttons(parsed),
        media=_media(parsed, stored.document.content if stored.document else None),
        protect_content=bool(parsed.has_protected_content),
        edited=stored.edited,
        deleted=stored.deleted,
        outgoing=stored.outgoing,
    )


# --- idle detection -------------------------------------------------------------------------------


class _TrackingQueue(asyncio.Queue[Any]):
    """Pyrogram's update queue, knowing which worker is still busy with an update."""

    def __init__(self) -> None:
        super().__init__()
        self._busy: set[asyncio.Task[Any]] = set()

    async def get(self) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._busy.discard(task)  # asking for the next update: the last one is done
        item = await super().get()
        if item is not None and task is not None:
            self._busy.add(task)
        return item

    @property
    def idle(self) -> bool:
        return self.empty() and not self._busy

    @property
    def busy_tasks(self) -> set[asyncio.Task[Any]]:
        """The workers handling an update right now."""
        return set(self._busy)


# --- participants ---------------------------------------------------------------------------------


class _Participant:
    def __init__(self, harness: BotHarness) -> None:
        self._bot = harness

    def _mark(self, chat_id: int) -> dict[int, tuple[int, bool]]:
        return {
            m.id: (m.version, m.deleted)
            for m in self._bot.telegram.messages.get(chat_id, {}).values()
        }

    def _changes(self, chat_id: int, mark: dict[int, tuple[int, bool]]) -> Replies:
        replies = Replies()
        for stored in sorted(self._bot.telegram.messages.get(chat_id, {}).values(), key=_id):
            if stored.outgoing and mark.get(stored.id) != (stored.version, stored.deleted):
                if stored.id in mark and stored.deleted and mark[stored.id][1] is False:
                    continue  # a deletion is not a reply; see `.chat`
                replies.append(snapshot(stored))
        return replies


def _kind_of(mime_type: str) -> str:
    """How Telegram files a document with this MIME type: video, audio or document."""
    if mime_type.startswith("video/"):
        return "video"
    return "audio" if mime_type.startswith("audio/") else "document"


def _id(message: StoredMessage) -> int:
    return message.id


class HarnessUser(_Participant):
    """A Telegram user talking to the bot."""

    def __init__(self, harness: BotHarness, user_id: int, name: str) -> None:
        super().__init__(harness)
        self.id = user_id
        self.name = name

    @property
    def state(self) -> Any:
        return self._bot.telegram.users[self.id]

    @property
    def chat(self) -> list[BotMessage]:
        """Every message of the private chat with the bot, as it is now."""
        messages = self._bot.telegram.messages.get(self.id, {}).values()
        return [snapshot(m) for m in sorted(messages, key=_id)]

    async def send(self, text: str) -> Replies:
        """Write `text` to the bot in private chat; returns what the bot sent or edited."""
        mark = self._mark(self.id)
        await self._bot.telegram.user_sends(self.id, text)
        await self._bot.idle()
        return self._changes(self.id, mark)

    async def reply(self, message: BotMessage, text: str) -> Replies:
        """Write `text` in private chat as a reply to `message` (e.g. `/link` to a file)."""
        if message.chat_id != self.id:
            raise AssertionError("users reply to messages of their private chat with the bot")
        mark = self._mark(self.id)
        await self._bot.telegram.user_sends(self.id, text, reply_to=message.id)
        await self._bot.idle()
        return self._changes(self.id, mark)

    async def click(self, message: BotMessage, button: str | Button) -> Replies:
        """Press an inline button (by text substring or `Button`) on one of the bot's messages."""
        chosen = message.button(button) if isinstance(button, str) else button
        if chosen.data is None:
            raise AssertionError(f"button {chosen.text!r} is not a callback button")
        stored = self._bot.telegram.messages[message.chat_id][message.id]
        mark = self._mark(message.chat_id)
        private_mark = self._mark(self.id) if message.chat_id != self.id else None
        query_id = await self._bot.telegram.press(self.id, stored, chosen.data.encode())
        await self._bot.idle()
        replies = self._changes(message.chat_id, mark)
        if private_mark is not None:  # e.g. a group button that delivers in private chat
            replies.extend(self._changes(self.id, private_mark))
        record = self._bot.telegram.callback_answers.get(query_id)
        if record is not None:
            replies.answer = CallbackAnswer(record.text, record.alert, record.url)
        return replies

    async def open_link(self, url: str) -> Replies:
        """Follow a deep link `https://t.me/<bot>?start=<payload>`: Telegram opens the private
        chat with the bot and sends `/start <payload>` for the user."""
        parsed = urllib.parse.urlsplit(url)
        username = parsed.path.strip("/")
        if (
            parsed.netloc != "t.me"
            or username.lower() != (self._bot.telegram.bot.username or "").lower()
        ):
            raise AssertionError(f"{url!r} is not a link to this bot")
        payload = urllib.parse.parse_qs(parsed.query).get("start", [""])[0]
        return await self.send(f"/start {payload}" if payload else "/start")

    async def forward(self, post: BotMessage) -> Replies:
        """Forward a channel post (from `channel.messages` or `post_*`) to the bot in private
        chat; returns what the bot sent or edited."""
        stored = self._bot.telegram.messages[post.chat_id][post.id]
        mark = self._mark(self.id)
        await self._bot.telegram.user_forwards(self.id, stored)
        await self._bot.idle()
        return self._changes(self.id, mark)

    async def send_document(
        self,
        file_name: str,
        *,
        size: int = 1_000_000,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> Replies:
        """Send the bot a file in private chat (a video or audio by `mime_type`)."""
        kind = _kind_of(mime_type)
        document = self._bot.telegram.make_document(file_name, size, mime_type, kind)
        mark = self._mark(self.id)
        await self._bot.telegram.user_sends_document(self.id, document, caption or "")
        await self._bot.idle()
        return self._changes(self.id, mark)

    async def press_data(self, message: BotMessage, data: str) -> Replies:
        """Send arbitrary callback data for `message` (forged or stale buttons)."""
        return await self.click(message, Button(text="(raw)", data=data))

    async def inline(self, query: str, offset: str = "") -> InlineAnswer:
        """Type `@bot query` in any chat; returns the bot's inline answer."""
        query_id = await self._bot.telegram.inline_query(self.id, query, offset)
        await self._bot.idle()
        record = self._bot.telegram.inline_answers.get(query_id)
        if record is None:
            return InlineAnswer(answered=False)
        return InlineAnswer(
            answered=True,
            results=tuple(self._bot._inline_result(r) for r in record.results),
            next_offset=record.next_offset,
            cache_time=record.cache_time,
            is_personal=record.is_personal,
            switch_pm_text=record.switch_pm_text,
            switch_pm_parameter=record.switch_pm_parameter,
        )

    # Things the user does outside the bot's chat.
    def block_bot(self) -> None:
        self.state.blocked_bot = True

    def unblock_bot(self) -> None:
        self.state.blocked_bot = False

    def deactivate(self) -> None:
        self.state.deactivated = True

    def join(self, channel: HarnessChannel) -> None:
        channel.state.members[self.id] = "member"
        channel.state.join_requests.discard(self.id)

    def leave(self, channel: HarnessChannel) -> None:
        channel.state.members.pop(self.id, None)

    def get_kicked(self, channel: HarnessChannel) -> None:
        channel.state.members[self.id] = "kicked"

    async def request_join(self, channel: HarnessChannel) -> None:
        """Ask to join `channel` through a link that needs approval (the bot is told)."""
        await self._bot.telegram.join_request(self.id, channel.state)
        await self._bot.idle()


class HarnessChannel(_Participant):
    """A channel the bot administers (or a supergroup, see `HarnessGroup`)."""

    def __init__(self, harness: BotHarness, state: ChannelState) -> None:
        super().__init__(harness)
        self.state = state

    @property
    def id(self) -> int:
        return self.state.id

    @property
    def title(self) -> str:
        return self.state.title

    @property
    def bot_is_member(self) -> bool:
        """False once the bot has left this chat (`/leave`)."""
        return not self.state.bot_left

    @property
    def messages(self) -> list[BotMessage]:
        stored = self._bot.telegram.messages.get(self.id, {}).values()
        return [snapshot(m) for m in sorted(stored, key=_id)]

    async def _post(
        self, name: str, size: int, mime_type: str, kind: str, caption: str | None
    ) -> BotMessage:
        document = self._bot.telegram.make_document(name, size, mime_type, kind)
        stored = await self._bot.telegram.channel_posts(self.state, document, caption or "")
        await self._bot.idle()
        return snapshot(stored)

    async def post_document(
        self,
        file_name: str,
        *,
        size: int = 1_000_000,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> BotMessage:
        kind = _kind_of(mime_type)
        return await self._post(file_name, size, mime_type, kind, caption)

    async def post_video(
        self,
        file_name: str,
        *,
        size: int = 700_000_000,
        mime_type: str = "video/mp4",
        caption: str | None = None,
    ) -> BotMessage:
        return await self._post(file_name, size, mime_type, "video", caption)

    async def post_audio(
        self,
        file_name: str,
        *,
        size: int = 8_000_000,
        mime_type: str = "audio/mpeg",
        caption: str | None = None,
    ) -> BotMessage:
        return await self._post(file_name, size, mime_type, "audio", caption)

    async def post_history(
        self,
        file_name: str | None = None,
        *,
        text: str = "",
        size: int = 1_000_000,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> BotMessage:
        """A post made before the bot was added (the bot never saw it; `/index` fetches it by
        id): a document, video or audio by `mime_type` when `file_name` is given, else a text
        post with `text`."""
        document = None
        if file_name is not None:
            kind = _kind_of(mime_type)
            document = self._bot.telegram.make_document(file_name, size, mime_type, kind)
        body = caption or "" if file_name is not None else text
        stored = await self._bot.telegram.channel_history(self.state, document, body)
        return snapshot(stored)

    async def edit_post(self, post: BotMessage, caption: str) -> BotMessage:
        """The channel's admin edits the caption of `post` (a message this channel posted)."""
        stored = self._bot.telegram.messages[self.id][post.id]
        edited = await self._bot.telegram.channel_edits_post(stored, caption)
        await self._bot.idle()
        return snapshot(edited)

    async def delete_posts(self, *posts: BotMessage, seen: bool = True) -> None:
        """The channel's admin deletes `posts`; with `seen=False` the bot is not told (they
        were deleted before it was in the channel)."""
        await self._bot.telegram.channel_deletes_posts(
            self.state, [p.id for p in posts], notify=seen
        )
        await self._bot.idle()


class HarnessGroup(HarnessChannel):
    """A supergroup with the bot in it."""

    async def send(self, user: HarnessUser, text: str, *, reply_to: int | None = None) -> Replies:
        """`user` writes `text` in the group (as a reply to message `reply_to`, if given);
        returns what the bot sent or edited there."""
        mark = self._mark(self.id)
        await self._bot.telegram.user_sends(user.id, text, channel=self.state, reply_to=reply_to)
        await self._bot.idle()
        return self._changes(self.id, mark)

    async def remove_bot(self, by: HarnessUser) -> None:
        """`by`, an admin of the group, removes the bot from it."""
        await self._bot.telegram.bot_removed(self.state, by.id)
        await self._bot.idle()

    async def add_member(self, user: HarnessUser) -> Replies:
        """`user` joins the group (the bot sees the "joined" service message); returns what
        the bot sent there (a welcome, if the group's settings ask for one)."""
        mark = self._mark(self.id)
        await self._bot.telegram.user_joins_group(user.id, self.state)
        await self._bot.idle()
        return self._changes(self.id, mark)

    async def edit_last(self, user: HarnessUser, text: str) -> Replies:
        """`user` edits their latest message in the group to `text`."""
        stored = self._bot.telegram.messages.get(self.id, {}).values()
        mine = [m for m in stored if m.sender_id == user.id and not m.deleted]
        if not mine:
            raise AssertionError(f"{user.name} has written nothing in {self.title}")
        mark = self._mark(self.id)
        await self._bot.telegram.user_edits(max(mine, key=_id), text)
        await self._bot.idle()
        return self._changes(self.id, mark)


# --- the harness ----------------------------------------------------------------------------------


class BotHarness:
    """Builds the real app through `bot.build_app` on the double and a fresh database.

    `BotHarness(ADMINS="1", AUTO_DELETE_MINUTES="10")`: keyword arguments are settings by their
    environment names; the developer's own environment and `.env` are ignored.
    """

    def __init__(
        self,
        *,
        database_uri: str | None = None,
        database_name: str | None = None,
        keep_database: bool = False,
        configure_logs: bool = True,
        base_settings: Settings | None = None,
        http: bool = False,
        force_restart: bool = False,
        bot_id: int | None = None,
        telegram: TelegramDouble | None = None,
        **settings: str | int,
    ) -> None:
        """`database_uri`/`database_name`: use that database (another harness's, see
        `beside`); `base_settings`: start from these settings (what `simulate` read from the
        environment) instead of the defaults; keyword arguments override either. The HTTP
        server is off unless `http=True` (a free port on 127.0.0.1, see `http_url`) or
        `HTTP_PORT` is given. `bot_id`: another bot (its own token's id and username) than
        the default one; `telegram`: run on that double and its clock (another harness's)."""
        self._settings_overrides = {k.lower(): v for k, v in settings.items()}
        self._force_restart = force_restart  # `python bot.py --force-restart`
        if http:
            self._settings_overrides.setdefault("http_host", "127.0.0.1")
            self._settings_overrides.setdefault("http_port", _free_port())
        self._base_settings = base_settings
        self._upstream_uri = database_uri or os.environ.get("TEST_DATABASE_URI")
        self._database_uri: str | None = None
        self._database_name = database_name or f"harness_{uuid.uuid4().hex[:12]}"
        self._keep_database = keep_database
        self._configure_logs = configure_logs
        self._embedded: EmbeddedServer | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._data_dir: tempfile.TemporaryDirectory[str] | None = None
        self.database: DatabaseProxy | None = None
        if telegram is not None:
            self.clock, self.telegram = telegram.clock, telegram
        else:
            self.clock = VirtualClock()
            self.telegram = (
                TelegramDouble(self.clock)
                if bot_id is None
                else TelegramDouble(self.clock, bot_id=bot_id, bot_username=f"Bot{bot_id}Bot")
            )
        self.settings: Settings | None = None
        self.app: App | None = None
        self._queue: _TrackingQueue | None = None
        self._errors: list[str] = []
        self._expecting: list[list[str]] = []
        self._log_handler = _ErrorLogHandler(self._errors)
        self._user_ids = iter(range(2_000_001, 3_000_000))
        self._crash: asyncio.Future[None] | None = None
        self.idle_timeout = IDLE_TIMEOUT  # seconds of real time `idle()` waits at most

    @classmethod
    def beside(
        cls,
        other: BotHarness,
        *,
        force_restart: bool = False,
        share_telegram: bool = False,
        bot_id: int | None = None,
        **settings: str | int,
    ) -> BotHarness:
        """A second bot instance on `other`'s database (its own DATA_DIR), for what several
        instances sharing one database must get right. Start it after `other`; `other` drops
        the database when it stops.

        By default it has its own double and clock: the same bot as seen from another
        Telegram. `share_telegram=True`: the same bot on the same double and clock (its chats,
        messages and users; updates go to the instance started last), for a takeover or a
        race between two instances. `bot_id=...`: another bot, with its own token and id."""
        if other.upstream_uri is None:
            raise RuntimeError("start the first harness before building one beside it")
        if share_telegram and bot_id is not None:
            raise ValueError("a shared double is the same bot: give share_telegram or bot_id")
        harness = cls(
            database_uri=other.upstream_uri,
            database_name=other.database_name,
            keep_database=True,
            force_restart=force_restart,
            bot_id=bot_id,
            telegram=other.telegram if share_telegram else None,
        )
        harness.configure(**settings)
        return harness

    @property
    def upstream_uri(self) -> str | None:
        """The database server itself (not the fault proxy in front of it)."""
        return self._upstream_uri

    @property
    def database_name(self) -> str:
        return self._database_name

    @property
    def data_dir(self) -> Path:
        """This harness's own DATA_DIR (a temporary directory, removed at `stop`)."""
        assert self.settings is not None  # noqa: S101 - set by start()
        return self.settings.data_dir

    def damage_search_index(self, how: str) -> None:
        """Damage the full-text index in DATA_DIR/search under the running bot: "vanished"
        (the directory deleted), "garbage" (every index file overwritten in place with random
        bytes of the same length: what tantivy has mapped changes under it) or "unreadable"
        (every index file replaced by a directory of its name: opening it fails, as a file
        without read permission would; tests run as root, where `chmod` changes nothing)."""
        directory = self.data_dir / "search"
        if how == "vanished":
            shutil.rmtree(directory)
            return
        files = [p for p in directory.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
        for path in files:
            if how == "garbage":
                size = path.stat().st_size
                with path.open("r+b") as handle:  # the same inode, the same length
                    handle.write(random.Random(size).randbytes(size))  # noqa: S311 - not a secret
            elif how == "unreadable":
                path.unlink()
                path.mkdir()
            else:
                raise ValueError(f"unknown damage {how!r}: vanished, garbage or unreadable")

    def configure(self, **settings: str | int) -> None:
        """More settings, before `start`: for values that name chats created on the double
        first, e.g. `bot.configure(AUTH_CHANNELS=bot.channel("News").id)`."""
        if self.app is not None:
            raise RuntimeError("configure() must be called before the harness starts")
        self._settings_overrides.update({k.lower(): v for k, v in settings.items()})

    # --- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> BotHarness:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None:
            self._raise_errors()

    async def start(self) -> None:
        if self._upstream_uri is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="filesearch-harness-")
            self._embedded = EmbeddedServer(Path(self._tempdir.name) / "db")
            self._upstream_uri = await self._embedded.start()
        if _proxiable(self._upstream_uri):
            self.database = DatabaseProxy(*_host_port(self._upstream_uri))
            self._database_uri = await self.database.start()
            if "retryWrites=false" in self._upstream_uri:  # the embedded server's (one node)
                self._database_uri += "&retryWrites=false"
        else:  # a replica set (TEST_DATABASE_URI): the driver must see its real members
            self._database_uri = self._upstream_uri
        self._data_dir = tempfile.TemporaryDirectory(prefix="filesearch-data-")
        base = self._base_settings.model_dump() if self._base_settings is not None else {}
        values: dict[str, Any] = {
            **base,
            "database_uri": self._database_uri,
            "database_name": self._database_name,
            "data_dir": self._data_dir.name,
            # The release-name parser in a thread of the test process: no worker processes
            # to spawn for every harness (a setting can still ask for them).
            "metadata_workers": 0,
            "http_port": 0,  # no HTTP server unless asked for (`http=True`, HTTP_PORT)
            **self._settings_overrides,
        }
        self.settings = _HarnessSettings(**values)
        if self._configure_logs:
            configure_logging(
                level=self.settings.log_level,
                json=wants_json(self.settings.enable_json_logging, self.settings.environment),
            )
        logging.getLogger("pyrogram").addHandler(self._log_handler)
        for admin_id in self.settings.admins:  # the operator's own accounts exist on Telegram
            if admin_id not in self.telegram.users:
                self.telegram.add_user(admin_id, "Admin")
        await self._start_app()
        await self.idle()  # start-up work in the background (an index rebuild) has finished

    async def _start_app(self) -> None:
        assert self.settings is not None  # noqa: S101 - set by start()
        database = Database(
            self._database_uri,
            self._database_name,
            data_dir=self.settings.data_dir,
            operation_timeout=self.settings.database_timeout,
            embedded_server=self._embedded is not None,
        )
        client = DoubleClient(self.telegram)
        self._queue = _TrackingQueue()
        client.dispatcher.updates_queue = self._queue
        self.app = build_app(
            self.settings,
            db=database,
            telegram=client,
            clock=self.clock,
            force_restart=self._force_restart,
        )
        self.app.on_unhandled_error = self._record_exception
        await self.app.start()

    @property
    def http_url(self) -> str:
        """The running app's HTTP server, e.g. `http://127.0.0.1:43121` (with `http=True`)."""
        server = self.running.ops.http
        if server is None:
            raise HarnessError("the HTTP server is off: BotHarness(http=True) starts it")
        return server.url

    @property
    def running(self) -> App:
        """The app, once started."""
        if self.app is None:
            raise RuntimeError("the harness has not started")
        return self.app

    async def restart(self) -> None:
        """Stop the app and build a new one on the same database, double and clock."""
        await self.running.stop()
        await self._start_app()
        await self.idle()

    async def restart_stopped(self) -> None:
        """Start a new app after `await bot.app.stop()` or an abrupt stop (time may pass while
        it is down)."""
        if self._crash is not None:
            await self._crash
            self._crash = None
        await self._start_app()
        await self.idle()

    async def stop_abruptly(self) -> None:
        """Stop the app the way a killed process stops: see `stop_abruptly_at`."""
        self._kill()
        if self._crash is not None:
            await self._crash

    def stop_abruptly_at(self, method: str, *, call: int = 1) -> None:
        """Kill the app when it makes its `call`-th request of `method` from now on (e.g.
        "GetMessages": an index job fetching its next batch while the last one is still being
        stored). Every task of the app (background loops, jobs, update handlers) is cancelled
        where it stands and none of its shutdown code runs: no job is finished, paused or
        checkpointed, nothing is logged. What the process would lose with it is released
        afterwards: database connections, the search index's writer lock, worker processes.
        `restart_stopped()` starts a new app on the same database, double and DATA_DIR."""

        def kill() -> BaseException:
            self._kill()
            return ConnectionError("the bot's process was killed")

        self.telegram.fail(method, error=kill, after=call - 1)

    def _kill(self) -> None:
        app = self.app
        if app is None:
            return
        self.app = None
        doomed = {*app.tasks, *app.activity.tasks, *app.client.dispatcher.handler_worker_tasks}
        for task in doomed:
            task.cancel()
        self._crash = asyncio.ensure_future(self._release(app, doomed))

    @staticmethod
    async def _release(app: App, doomed: set[asyncio.Task[Any]]) -> None:
        await asyncio.gather(*doomed, return_exceptions=True)
        app.tasks.clear()
        app.client.dispatcher.handler_worker_tasks.clear()
        await app.services.notices.close()
        await app.services.metadata.close()
        await app.services.search.index.close()
        await app.database.close()

    async def stop(self) -> None:
        try:
            if self._crash is not None:
                await self._crash
            if self.app is not None:
                await self.app.stop()
            if not self._keep_database and self._upstream_uri is not None:
                cleanup = Database(self._upstream_uri, self._database_name)
                await cleanup.start()
                await cleanup.drop()
                await cleanup.close()
        finally:
            logging.getLogger("pyrogram").removeHandler(self._log_handler)
            if self.database is not None:
                await self.database.stop()
            if self._embedded is not None:
                await self._embedded.stop()
            if self._tempdir is not None:
                self._tempdir.cleanup()
            if self._data_dir is not None:
                self._data_dir.cleanup()

    async def click_together(
        self, *presses: tuple[HarnessUser, BotMessage, str | Button]
    ) -> list[Replies]:
        """Presses (user, message, button) that reach the bot in one batch of updates: a
        double tap, two admins at the same moment. Pyrogram's workers handle them at the same
        time. One `Replies` per press: what the bot sent or edited in its chat meanwhile, and
        the answer to that press."""
        chosen: list[tuple[HarnessUser, BotMessage, Button]] = []
        for user, message, button in presses:
            pick = message.button(button) if isinstance(button, str) else button
            if pick.data is None:
                raise AssertionError(f"button {pick.text!r} is not a callback button")
            chosen.append((user, message, pick))
        marks = {m.chat_id: user._mark(m.chat_id) for user, m, _ in chosen}
        query_ids = await self.telegram.press_together(
            [
                (user.id, self.telegram.messages[m.chat_id][m.id], (b.data or "").encode())
                for user, m, b in chosen
            ]
        )
        await self.idle()
        results: list[Replies] = []
        for (user, message, _), query_id in zip(chosen, query_ids, strict=True):
            replies = user._changes(message.chat_id, marks[message.chat_id])
            record = self.telegram.callback_answers.get(query_id)
            if record is not None:
                replies.answer = CallbackAnswer(record.text, record.alert, record.url)
            results.append(replies)
        return results

    # --- the world --------------------------------------------------------------------------------

    def user(
        self, user_id: int | None = None, name: str = "User", username: str | None = None
    ) -> HarnessUser:
        uid = user_id if user_id is not None else next(self._user_ids)
        self.telegram.add_user(uid, name, username)
        return HarnessUser(self, uid, name)

    def channel(
        self,
        title: str,
        *,
        username: str | None = None,
        bot_is_admin: bool = True,
        chat_id: int | None = None,
    ) -> HarnessChannel:
        """A channel the bot administers (unless `bot_is_admin=False`); `chat_id` gives it a
        chosen id (`-100...`, e.g. one that settings name), else a new one is made up."""
        raw_id = None
        if chat_id is not None:
            raw_id = ZERO_CHANNEL_ID - chat_id
            if raw_id <= 0:
                raise ValueError(f"{chat_id} is not a channel id (they start with -100)")
        state = self.telegram.add_channel(
            title, username=username, bot_is_admin=bot_is_admin, raw_id=raw_id
        )
        return HarnessChannel(self, state)

    def group(self, title: str, members: Sequence[HarnessUser] = ()) -> HarnessGroup:
        state = self.telegram.add_channel(title, megagroup=True)
        for member in members:
            state.members[member.id] = "member"
        return HarnessGroup(self, state)

    # --- time and idleness ------------------------------------------------------------------------

    def _current_app(self) -> App | None:
        return self.app

    async def advance(self, seconds: float) -> None:
        """Move virtual time and wait until the bot has finished what that set off."""
        self.clock.advance(seconds)
        await self.idle()

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until no update is queued or being handled (a condition, not a fixed sleep),
        at most `timeout` (default `idle_timeout`) seconds of real time."""
        timeout = self.idle_timeout if timeout is None else timeout
        if self.app is None:  # stopped abruptly: nothing runs
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        busy = 0
        while quiet < 3:  # noqa: PLR2004 - idle for three consecutive loop turns
            await asyncio.sleep(0)
            app = self._current_app()  # None once stopped abruptly meanwhile
            if app is None:
                return
            if self._queue is not None and self._queue.idle and app.activity.idle:
                busy = 0
                quiet += 1
                continue
            quiet = 0
            busy += 1
            self._autojump(stuck=busy >= STUCK_TURNS)
            if loop.time() > deadline:
                raise HarnessError(f"the bot did not become idle within {timeout:g} s")
            await asyncio.sleep(0.001)  # database calls run in Motor's threads
        self._raise_errors()

    def _autojump(self, *, stuck: bool) -> None:
        """Work waiting only on a short timer would wait forever on a virtual clock: move time
        to that timer, as it would pass for real. Background work (rate pacing) is let through
        at once; a handler (sleeping through a short FloodWait, as Pyrogram does) once the
        loop has made no progress for a while. Only the busy work's own sleeps count (the
        tasks in `app.activity`, or the workers handling updates): a periodic loop that
        sleeps beside them is never woken early."""
        if self.app is None or self._queue is None:
            return
        if self.app.activity.idle and self._queue.idle:
            return
        if not self._queue.idle and not stuck:
            return
        tasks = set(self.running.activity.tasks) | self._queue.busy_tasks
        deadline = self.clock.next_deadline(tasks=tasks)
        if deadline is not None and deadline - self.clock.monotonic() <= AUTOJUMP_SECONDS:
            self.clock.advance(max(0.0, deadline - self.clock.monotonic()))

    # --- errors -----------------------------------------------------------------------------------

    def _record_exception(self, exc: BaseException) -> None:
        self._errors.append("".join(traceback.format_exception(exc)))

    def _raise_errors(self) -> None:
        problems: list[str] = []
        if self.telegram.unknown_rpcs:
            names = ", ".join(sorted(set(self.telegram.unknown_rpcs)))
            self.telegram.unknown_rpcs.clear()
            problems.append(f"the bot called RPCs the double does not implement: {names}")
        if self._errors:
            problems += ["a handler raised:\n" + error for error in self._errors]
            self._errors.clear()
        if not problems:
            return
        if self._expecting:
            self._expecting[-1].extend(problems)
            return
        raise HarnessError("\n\n".join(problems))

    @contextlib.contextmanager
    def expect_errors(self) -> Iterator[list[str]]:
        """Within the block, handler exceptions are collected (tracebacks) instead of failing."""
        collected: list[str] = []
        self._expecting.append(collected)
        try:
            yield collected
        finally:
            self._expecting.pop()

    def _inline_result(self, result: Any) -> InlineResult:
        file = None
        document = getattr(result, "document", None)
        doc_id = getattr(document, "id", None)
        if doc_id is not None and doc_id in self.telegram.documents:
            doc = self.telegram.documents[doc_id]
            file = Media(doc.name, "", doc.kind, "", doc.size)
        send = getattr(result, "send_message", None)
        rows = getattr(getattr(send, "reply_markup", None), "rows", None) or []
        buttons = tuple(_raw_button(b) for row in rows for b in row.buttons)
        return InlineResult(
            id=str(getattr(result, "id", "")),
            title=getattr(result, "title", None),
            description=getattr(result, "description", None),
            file=file,
            caption=getattr(send, "message", None),
            buttons=buttons,
        )


def _raw_button(button: Any) -> Button:
    """A raw inline keyboard button (the current layer nests its kind in `.type`)."""
    kind = getattr(button, "type", button)
    data = getattr(kind, "data", None)
    return Button(
        text=button.text,
        data=data.decode() if isinstance(data, bytes) else None,
        url=getattr(kind, "url", None),
    )


class _ErrorLogHandler(logging.Handler):
    """Collects ERROR records from Pyrogram's dispatcher (it swallows handler-level failures)."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.ERROR)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if isinstance(exc, UnknownRPCError):
                return  # reported through the double's own list, with its name
            text += "\n" + "".join(traceback.format_exception(exc))
        self._sink.append(f"{record.name}: {text}")


def _proxiable(uri: str) -> bool:
    netloc = urllib.parse.urlsplit(uri).netloc
    return uri.startswith("mongodb://") and "," not in netloc and "replicaset" not in uri.lower()


def _host_port(uri: str) -> tuple[str, int]:
    """Host and port of a single-server `mongodb://` URI (the proxy forwards to it)."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.hostname is None:
        raise ValueError(f"not a single-server MongoDB URI: {uri!r}")
    return parsed.hostname, parsed.port or 27017


def _free_port() -> int:
    """A TCP port nobody listens on right now (for the app's HTTP server in a test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

"""The double's state: users, chats, messages and documents, and how messages are stored and
turned into the updates and results Telegram would send."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pyrogram import Client, raw, types
from pyrogram.errors import (
    ChannelPrivate,
    ChatWriteForbidden,
    InputUserDeactivated,
    MessageIdInvalid,
    PeerIdInvalid,
    UserIsBlocked,
)
from pyrogram.raw.core import TLObject

from testkit.clock import VirtualClock
from testkit.double.limits import Fault, RateEnforcer

ZERO_CHANNEL_ID = -1_000_000_000_000


NEW_CHANNEL_RAW_BASE = 2_200_000_000  # raw ids above 2**31: chat ids below -1002147483647


class UnknownRPCError(Exception):
    """The bot called an RPC the double does not implement; the test must fail loudly."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the Telegram double does not implement {name}")
        self.name = name


def roundtrip(obj: Any) -> Any:
    """Serialise and parse again, as the wire would."""
    if isinstance(obj, TLObject):
        return TLObject.read(BytesIO(obj.write()))
    if isinstance(obj, list):
        return [roundtrip(o) for o in obj]
    return obj


def _hash(*parts: object) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class UserState:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    blocked_bot: bool = False
    deactivated: bool = False

    @property
    def access_hash(self) -> int:
        return _hash("user", self.id)

    def raw(self, *, is_self: bool = False) -> raw.types.User:
        return raw.types.User(
            id=self.id,
            access_hash=self.access_hash,
            first_name=self.first_name,
            username=self.username,
            bot=self.is_bot or None,
            is_self=is_self or None,
            bot_info_version=1 if self.is_bot else None,
            deleted=self.deactivated or None,
        )


@dataclass
class ChannelState:
    raw_id: int
    title: str
    megagroup: bool = False
    username: str | None = None
    bot_is_admin: bool = True
    bot_left: bool = False  # the bot left (channels.LeaveChannel): it no longer sees the chat
    members: dict[int, str] = field(default_factory=dict)  # user id → member/admin/creator/kicked
    join_requests: set[int] = field(default_factory=set)
    next_message_id: int = 1

    @property
    def id(self) -> int:
        """The Bot API / Pyrogram chat id (-100…)."""
        return ZERO_CHANNEL_ID - self.raw_id

    @property
    def access_hash(self) -> int:
        return _hash("channel", self.raw_id)

    def raw(self) -> raw.types.Channel:
        return raw.types.Channel(
            id=self.raw_id,
            title=self.title,
            photo=raw.types.ChatPhotoEmpty(),
            date=0,
            access_hash=self.access_hash,
            broadcast=None if self.megagroup else True,
            megagroup=self.megagroup or None,
            username=self.username,
        )

    def peer(self) -> Any:
        return raw.types.PeerChannel(channel_id=self.raw_id)


@dataclass
class DocumentState:
    id: int
    name: str
    size: int
    mime_type: str
    kind: str  # document | video | audio
    access_hash: int = 0
    file_reference: bytes = b"\x01ref"
    content: bytes | None = None  # what the bot uploaded (documents it made, e.g. a CSV)

    def raw(self, date: int) -> raw.types.Document:
        attributes: list[Any] = [raw.types.DocumentAttributeFilename(file_name=self.name)]
        if self.kind == "video":
            attributes.append(
                raw.types.DocumentAttributeVideo(
                    duration=5400, w=1280, h=720, supports_streaming=True
                )
            )
        elif self.kind == "audio":
            attributes.append(
                raw.types.DocumentAttributeAudio(duration=240, title=self.name, performer=None)
            )
        return raw.types.Document(
            id=self.id,
            access_hash=self.access_hash,
            file_reference=self.file_reference,
            date=date,
            mime_type=self.mime_type,
            size=self.size,
            dc_id=2,
            attributes=attributes,
        )


@dataclass
class StoredMessage:
    """One message in a chat, with Pyrogram's own parse of it (None when the double was told
    not to parse: `parse_messages`)."""

    chat_id: int
    id: int
    raw: raw.types.Message
    parsed: types.Message | None
    outgoing: bool
    sender_id: int | None
    edited: bool = False
    deleted: bool = False
    version: int = 0
    document: DocumentState | None = None


@dataclass
class InlineAnswerRecord:
    query_id: int
    user_id: int
    query: str
    offset: str
    results: list[Any]
    next_offset: str
    cache_time: int
    is_personal: bool
    switch_pm_text: str | None
    switch_pm_parameter: str | None


@dataclass
class CallbackAnswerRecord:
    query_id: int
    text: str | None
    alert: bool
    url: str | None


class DoubleState:
    """In-memory Telegram state shared by the RPC handlers and the user actions."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        bot_id: int = 7_000_000_001,
        bot_username: str = "FileSearchBot",
        bot_name: str = "File Search",
    ) -> None:
        self.clock = clock
        self.bot = UserState(bot_id, bot_name, bot_username, is_bot=True)
        self.users: dict[int, UserState] = {bot_id: self.bot}
        self.channels: dict[int, ChannelState] = {}  # by raw id
        self.messages: dict[int, dict[int, StoredMessage]] = {}  # chat id → id → message
        self.documents: dict[int, DocumentState] = {}
        self.uploads: dict[int, dict[int, bytes]] = {}  # upload id -> part number -> bytes
        self.pinned: dict[int, int] = {}  # chat id -> the message the bot pinned there
        self.inline_answers: dict[int, InlineAnswerRecord] = {}
        self.callback_answers: dict[int, CallbackAnswerRecord] = {}
        self.commands: dict[str, list[tuple[str, str]]] = {}
        self.rpc_log: list[str] = []  # every request's name, e.g. "messages.SendMessage"
        self.rpc_chats: list[int | None] = []  # the chat each request of rpc_log was for
        self.unknown_rpcs: list[str] = []
        self.slept_through: list[float] = []  # FloodWaits the client slept through (seconds)
        self.enforce_rate_limits = False
        # Pyrogram's parse of every stored message, what the users' chat views read. A load
        # benchmark turns it off: parsing what the bot sends costs the process about as much
        # as the bot's own work, and Telegram's servers do it elsewhere.
        self.parse_messages = True
        self._rates = RateEnforcer(clock)
        self._faults: list[Fault] = []
        self._private_ids = itertools.count(1)
        self._query_ids = itertools.count(1_000)
        self._channel_seq = itertools.count(1)
        self._pts = 1
        self.client: Client | None = None  # the DoubleClient attached to this double
        self.invite_links: list[tuple[int, str, bool]] = []  # (chat id, link, request needed)

    def add_user(self, user_id: int, first_name: str, username: str | None = None) -> UserState:
        """A Telegram account; adding a known id again renames it and keeps its state."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = UserState(user_id, first_name, username)
        else:
            user.first_name, user.username = first_name, username
        return user

    def add_channel(
        self,
        title: str,
        *,
        megagroup: bool = False,
        username: str | None = None,
        raw_id: int | None = None,
        bot_is_admin: bool = True,
    ) -> ChannelState:
        channel_raw_id = raw_id or NEW_CHANNEL_RAW_BASE + next(self._channel_seq)
        channel = ChannelState(channel_raw_id, title, megagroup, username, bot_is_admin)
        self.channels[channel_raw_id] = channel
        self.messages[channel.id] = {}
        return channel

    def channel_by_chat_id(self, chat_id: int) -> ChannelState:
        return self.channels[ZERO_CHANNEL_ID - chat_id]

    def make_document(self, name: str, size: int, mime_type: str, kind: str) -> DocumentState:
        """A document with a deterministic id, so file ids are stable across runs."""
        doc_id = abs(_hash("document", name, size, mime_type, len(self.documents)))
        doc = DocumentState(doc_id, name, size, mime_type, kind, access_hash=_hash("doc", doc_id))
        self.documents[doc_id] = doc
        return doc

    def calls(self, method: str, *, chat_id: int | None = None) -> int:
        """How many requests the bot made of `method` ("SendMessage" or the full
        "messages.SendMessage"), only those for `chat_id` when given: "this user got exactly
        one copy" is `calls("SendMessage", chat_id=user.id) == 1`."""
        return sum(
            1
            for name, chat in zip(self.rpc_log, self.rpc_chats, strict=True)
            if method in (name, name.rpartition(".")[2]) and (chat_id is None or chat == chat_id)
        )

    async def deliver(
        self, update: Any, *, users: Iterable[int] = (), chats: Iterable[int] = ()
    ) -> None:
        """Send one update to the bot, wrapped and serialised like Telegram's `Updates`."""
        await self.deliver_all([update], users=users, chats=chats)

    async def deliver_all(
        self, updates: list[Any], *, users: Iterable[int] = (), chats: Iterable[int] = ()
    ) -> None:
        """Send updates to the bot in one `Updates` envelope (the client started last gets
        them, when instances share the double)."""
        if self.client is None:
            raise RuntimeError("no client is attached to the double")
        envelope = self._envelope(
            updates, [self.users[u].raw() for u in users], [self.channels[c].raw() for c in chats]
        )
        # Pyrogram's own update entry point (unannotated upstream).
        await self.client.handle_updates(roundtrip(envelope))  # type: ignore[no-untyped-call]

    def _chat_id_of(self, peer: Any) -> int | None:
        if isinstance(peer, raw.types.InputPeerUser | raw.types.PeerUser | raw.types.InputUser):
            return int(peer.user_id)
        if isinstance(
            peer,
            raw.types.InputPeerChannel | raw.types.PeerChannel | raw.types.InputChannel,
        ):
            return ZERO_CHANNEL_ID - int(peer.channel_id)
        if isinstance(peer, raw.types.InputPeerSelf | raw.types.InputUserSelf):
            return self.bot.id
        return None

    def _next_pts(self) -> int:
        self._pts += 1
        return self._pts

    def _next_channel_id(self, channel: ChannelState) -> int:
        message_id = channel.next_message_id
        channel.next_message_id += 1
        return message_id

    def _peer(self, chat_id: int) -> Any:
        if chat_id > 0:
            return raw.types.PeerUser(user_id=chat_id)
        return self.channel_by_chat_id(chat_id).peer()

    def _context(self, chat_id: int, sender: int | None) -> tuple[dict[int, Any], dict[int, Any]]:
        users = {self.bot.id: self.bot.raw()}
        for uid in (chat_id if chat_id > 0 else None, sender):
            if uid is not None and uid in self.users:
                users[uid] = self.users[uid].raw()
        chats: dict[int, Any] = {}
        if chat_id < 0:
            channel = self.channel_by_chat_id(chat_id)
            chats[channel.raw_id] = channel.raw()
        return users, chats

    async def _parse(
        self,
        message: raw.types.Message | raw.types.MessageService,
        chat_id: int,
        sender: int | None,
    ) -> Any:
        if not self.parse_messages:
            return None
        assert self.client is not None  # noqa: S101 - attached before any traffic
        users, chats = self._context(chat_id, sender)
        # Pyrogram's own parser, exactly as for messages off the wire.
        return await types.Message._parse(
            self.client,
            roundtrip(message),
            {k: roundtrip(v) for k, v in users.items()},
            {k: roundtrip(v) for k, v in chats.items()},
            replies=0,
        )

    async def _store(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        out: bool,
        sender: int | None,
        entities: list[Any] | None = None,
        reply_markup: Any = None,
        document: DocumentState | None = None,
        noforwards: bool | None = None,
        reply_to: Any = None,
        fwd_from: Any = None,
        media: Any = None,
    ) -> StoredMessage:
        is_channel_post = chat_id < 0 and not self.channel_by_chat_id(chat_id).megagroup
        if document is not None:
            media = raw.types.MessageMediaDocument(
                document=document.raw(self.clock.timestamp()),
                video=(document.kind == "video") or None,
            )
        message = raw.types.Message(
            id=message_id,
            peer_id=self._peer(chat_id),
            date=self.clock.timestamp(),
            message=text,
            out=out or None,
            post=is_channel_post or None,
            from_id=raw.types.PeerUser(user_id=sender) if sender is not None else None,
            entities=entities or None,
            reply_markup=reply_markup,
            media=media,
            noforwards=noforwards or None,
            reply_to=reply_to,
            fwd_from=fwd_from,
        )
        stored = StoredMessage(
            chat_id=chat_id,
            id=message_id,
            raw=roundtrip(message),
            parsed=await self._parse(message, chat_id, sender),
            outgoing=out,
            sender_id=sender,
            document=document,
        )
        self.messages.setdefault(chat_id, {})[message_id] = stored
        return stored

    def _find(self, chat_id: int, message_id: int) -> StoredMessage:
        found = self.messages.get(chat_id, {}).get(message_id)
        if found is None or found.deleted:
            raise MessageIdInvalid
        return found

    def _writable_chat(self, peer: Any) -> int:
        chat_id = self._chat_id_of(peer)
        if chat_id is None:
            raise PeerIdInvalid
        if chat_id > 0:
            user = self.users.get(chat_id)
            if user is None:
                raise PeerIdInvalid
            if user.deactivated:
                raise InputUserDeactivated
            if user.blocked_bot:
                raise UserIsBlocked
        else:
            channel = self.channels.get(ZERO_CHANNEL_ID - chat_id)
            if channel is None:
                raise PeerIdInvalid
            if channel.bot_left:
                raise ChannelPrivate
            if not channel.megagroup and not channel.bot_is_admin:
                raise ChatWriteForbidden
        return chat_id

    def _updates_for(self, stored: StoredMessage, *, edit: bool = False, random_id: int = 0) -> Any:
        users, chats = self._context(stored.chat_id, stored.sender_id)
        pts = self._next_pts()
        klass: type[Any]
        if stored.chat_id < 0:
            klass = (
                raw.types.UpdateEditChannelMessage if edit else raw.types.UpdateNewChannelMessage
            )
        else:
            klass = raw.types.UpdateEditMessage if edit else raw.types.UpdateNewMessage
        update = klass(message=stored.raw, pts=pts, pts_count=1)
        updates: list[Any] = [update]
        if not edit:
            updates.insert(0, raw.types.UpdateMessageID(id=stored.id, random_id=random_id))
        return self._envelope(updates, list(users.values()), list(chats.values()))

    def _envelope(self, updates: list[Any], users: list[Any], chats: list[Any]) -> Any:
        """Updates, and the users and chats they mention, as Telegram wraps them."""
        return raw.types.Updates(
            updates=updates, users=users, chats=chats, date=self.clock.timestamp(), seq=0
        )

    def _new_id(self, chat_id: int) -> int:
        if chat_id > 0:
            return next(self._private_ids)
        return self._next_channel_id(self.channel_by_chat_id(chat_id))

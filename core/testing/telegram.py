"""The Telegram double: a real Pyrogram `Client` whose RPCs are answered from in-memory state.

Only the network is replaced. `DoubleClient.invoke` hands every raw function to `TelegramDouble`,
which answers with raw TL objects; updates from "users" go through the client's own
`handle_updates`, dispatcher, filters and handlers. Every result and update is round-tripped
through TL serialisation (and every query serialised), so objects look exactly as they do off the
wire: optional vectors are `[]`, never `None`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pyrogram import Client, raw, types
from pyrogram.errors import (
    ChatAdminRequired,
    ChatWriteForbidden,
    FloodWait,
    InputUserDeactivated,
    MediaEmpty,
    MessageIdInvalid,
    MessageNotModified,
    PeerIdInvalid,
    ResultsTooMuch,
    UserIsBlocked,
    UsernameNotOccupied,
    UserNotParticipant,
)
from pyrogram.raw.core import TLObject

from core.testing.clock import VirtualClock

__all__ = [
    "ChannelState",
    "DocumentState",
    "DoubleClient",
    "StoredMessage",
    "TelegramDouble",
    "UnknownRPCError",
    "UserState",
]

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
    """One message in a chat, with Pyrogram's own parse of it."""

    chat_id: int
    id: int
    raw: raw.types.Message
    parsed: types.Message
    outgoing: bool
    sender_id: int | None
    edited: bool = False
    deleted: bool = False
    version: int = 0


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


@dataclass
class _Fault:
    method: str | None
    chat_id: int | None
    error: Callable[[], BaseException]
    remaining: int


class _RateEnforcer:
    """Telegram-like limits: 1 msg/s per private chat, 20/min per group, 30/s overall."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._sent: dict[int | None, deque[float]] = {}

    def check(self, chat_id: int) -> None:
        now = self._clock.monotonic()
        window, limit = (1.0, 1) if chat_id > 0 else (60.0, 20)
        for key, win, lim in ((chat_id, window, limit), (None, 1.0, 30)):
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - win:
                sent.popleft()
            if len(sent) >= lim:
                raise FloodWait(value=max(1, int(sent[0] + win - now + 0.999)))
        for key in (chat_id, None):
            self._sent[key].append(now)


_SENDING = {
    "messages.SendMessage",
    "messages.SendMedia",
    "messages.ForwardMessages",
}


class TelegramDouble:
    """In-memory Telegram: users, chats, channels, messages, documents, answers and faults."""

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
        self.inline_answers: dict[int, InlineAnswerRecord] = {}
        self.callback_answers: dict[int, CallbackAnswerRecord] = {}
        self.commands: dict[str, list[tuple[str, str]]] = {}
        self.rpc_log: list[str] = []
        self.unknown_rpcs: list[str] = []
        self.enforce_rate_limits = False
        self._rates = _RateEnforcer(clock)
        self._faults: list[_Fault] = []
        self._private_ids = itertools.count(1)
        self._query_ids = itertools.count(1_000)
        self._channel_seq = itertools.count(1)
        self._pts = 1
        self.client: DoubleClient | None = None
        self._handlers: dict[type, Callable[[Any], Any]] = {
            raw.functions.updates.GetState: self._get_state,
            raw.functions.users.GetFullUser: self._get_full_user,
            raw.functions.users.GetUsers: self._get_users,
            raw.functions.channels.GetChannels: self._get_channels,
            raw.functions.bots.SetBotCommands: self._set_bot_commands,
            raw.functions.messages.SendMessage: self._send_message,
            raw.functions.messages.SendMedia: self._send_media,
            raw.functions.messages.EditMessage: self._edit_message,
            raw.functions.messages.DeleteMessages: self._delete_messages,
            raw.functions.channels.DeleteMessages: self._delete_channel_messages,
            raw.functions.messages.ForwardMessages: self._forward_messages,
            raw.functions.channels.GetMessages: self._get_channel_messages,
            raw.functions.messages.GetMessages: self._get_messages,
            raw.functions.messages.SetBotCallbackAnswer: self._set_callback_answer,
            raw.functions.messages.SetInlineBotResults: self._set_inline_results,
            raw.functions.channels.GetParticipant: self._get_participant,
            raw.functions.messages.ExportChatInvite: self._export_chat_invite,
            raw.functions.contacts.ResolveUsername: self._resolve_username,
        }
        self.invite_links: list[tuple[int, str, bool]] = []  # (chat id, link, request needed)

    # --- the world --------------------------------------------------------------------------------

    def add_user(self, user_id: int, first_name: str, username: str | None = None) -> UserState:
        user = UserState(user_id, first_name, username)
        self.users[user_id] = user
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

    # --- faults -----------------------------------------------------------------------------------

    def fail(
        self,
        method: str | None = None,
        *,
        error: Callable[[], BaseException] | BaseException,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (e.g. "SendMessage"; None = any), optionally only
        for `chat_id`, raise `error`."""
        if isinstance(error, BaseException):
            instance = error

            def make() -> BaseException:
                return instance

            self._faults.append(_Fault(method, chat_id, make, times))
        else:
            self._faults.append(_Fault(method, chat_id, error, times))

    def flood_wait(
        self, method: str, seconds: int, *, times: int = 1, chat_id: int | None = None
    ) -> None:
        self.fail(method, error=lambda: FloodWait(value=seconds), times=times, chat_id=chat_id)

    def _injected_fault(self, name: str, chat_id: int | None) -> BaseException | None:
        for fault in self._faults:
            if fault.remaining <= 0:
                continue
            if fault.method is not None and fault.method not in (name, name.rsplit(".", 1)[-1]):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            return fault.error()
        return None

    # --- RPC entry point --------------------------------------------------------------------------

    async def invoke(self, query: TLObject[Any]) -> Any:
        # Serialise the request as the wire would (a malformed query fails here), but answer the
        # object itself: Pyrogram's readers for *functions* are never used by clients and some
        # mis-read vectors (messages.GetMessages ids come back as longs).
        query.write()
        name = type(query).QUALNAME.removeprefix("functions.")
        self.rpc_log.append(name)
        handler = self._handlers.get(type(query))
        if handler is None:
            self.unknown_rpcs.append(name)
            raise UnknownRPCError(name)
        chat_id = self._target_chat(query)
        fault = self._injected_fault(name, chat_id)
        if fault is not None:
            raise fault
        if self.enforce_rate_limits and name in _SENDING and chat_id is not None:
            self._rates.check(chat_id)
        result = handler(query)
        if hasattr(result, "__await__"):
            result = await result
        return roundtrip(result)

    def _target_chat(self, query: Any) -> int | None:
        peer = getattr(query, "peer", None) or getattr(query, "to_peer", None)
        peer = peer or getattr(query, "channel", None)
        return self._chat_id_of(peer) if peer is not None else None

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

    # --- incoming traffic (what users and channels do) -------------------------------------------

    async def deliver(
        self, update: Any, *, users: Iterable[int] = (), chats: Iterable[int] = ()
    ) -> None:
        """Send one update to the bot, wrapped and serialised like Telegram's `Updates`."""
        if self.client is None:
            raise RuntimeError("no client is attached to the double")
        envelope = raw.types.Updates(
            updates=[update],
            users=[self.users[u].raw() for u in users],
            chats=[self.channels[c].raw() for c in chats],
            date=self.clock.timestamp(),
            seq=0,
        )
        # Pyrogram's own update entry point (unannotated upstream).
        await self.client.handle_updates(roundtrip(envelope))  # type: ignore[no-untyped-call]

    async def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        channel: ChannelState | None = None,
        reply_to: int | None = None,
    ) -> StoredMessage:
        """A user writes to the bot in private chat, or in a group (`channel` = the supergroup),
        optionally as a reply to message `reply_to` of that chat."""
        header = raw.types.MessageReplyHeader(reply_to_msg_id=reply_to) if reply_to else None
        if channel is None:
            message = await self._store(
                user_id, next(self._private_ids), text, out=False, sender=user_id, reply_to=header
            )
            update: Any = raw.types.UpdateNewMessage(
                message=message.raw, pts=self._next_pts(), pts_count=1
            )
            await self.deliver(update, users=[user_id])
        else:
            message = await self._store(
                channel.id,
                self._next_channel_id(channel),
                text,
                out=False,
                sender=user_id,
                reply_to=header,
            )
            update = raw.types.UpdateNewChannelMessage(
                message=message.raw, pts=self._next_pts(), pts_count=1
            )
            await self.deliver(update, users=[user_id], chats=[channel.raw_id])
        return message

    async def user_edits(self, message: StoredMessage, text: str) -> StoredMessage:
        """The author of `message` (in a group or private chat) edits its text."""
        edited = await self._store(
            message.chat_id, message.id, text, out=False, sender=message.sender_id
        )
        edited.edited = True
        chats: list[int] = []
        if message.chat_id > 0:
            update: Any = raw.types.UpdateEditMessage(
                message=edited.raw, pts=self._next_pts(), pts_count=1
            )
        else:
            chats = [self.channel_by_chat_id(message.chat_id).raw_id]
            update = raw.types.UpdateEditChannelMessage(
                message=edited.raw, pts=self._next_pts(), pts_count=1
            )
        senders = [message.sender_id] if message.sender_id is not None else []
        await self.deliver(update, users=senders, chats=chats)
        return edited

    async def join_request(self, user_id: int, channel: ChannelState) -> None:
        """`user_id` asks to join `channel` through an invite link that needs approval; the bot,
        as an admin of the channel, is told (`UpdateBotChatInviteRequester`)."""
        channel.join_requests.add(user_id)
        links = [
            link for chat, link, request in self.invite_links if chat == channel.id and request
        ]
        invite = raw.types.ChatInviteExported(
            link=links[-1] if links else f"https://t.me/+request{channel.raw_id}",
            admin_id=self.bot.id,
            date=self.clock.timestamp(),
            request_needed=True,
        )
        update = raw.types.UpdateBotChatInviteRequester(
            peer=channel.peer(),
            date=self.clock.timestamp(),
            user_id=user_id,
            about="",
            invite=invite,
            qts=self._next_pts(),
        )
        await self.deliver(update, users=[user_id, self.bot.id], chats=[channel.raw_id])

    async def channel_posts(
        self, channel: ChannelState, document: DocumentState | None, caption: str = ""
    ) -> StoredMessage:
        message = await self._store(
            channel.id,
            self._next_channel_id(channel),
            caption,
            out=False,
            sender=None,
            document=document,
        )
        update = raw.types.UpdateNewChannelMessage(
            message=message.raw, pts=self._next_pts(), pts_count=1
        )
        await self.deliver(update, chats=[channel.raw_id])
        return message

    async def press(self, user_id: int, message: StoredMessage, data: bytes) -> int:
        """A user presses an inline button; returns the callback query id."""
        query_id = next(self._query_ids)
        if message.chat_id > 0:
            peer: Any = raw.types.PeerUser(user_id=message.chat_id)
            chats: list[int] = []
        else:
            channel = self.channel_by_chat_id(message.chat_id)
            peer, chats = channel.peer(), [channel.raw_id]
        update = raw.types.UpdateBotCallbackQuery(
            query_id=query_id,
            user_id=user_id,
            peer=peer,
            msg_id=message.id,
            chat_instance=_hash("instance", message.chat_id),
            data=data,
        )
        await self.deliver(update, users=[user_id, self.bot.id], chats=chats)
        return query_id

    async def inline_query(self, user_id: int, query: str, offset: str = "") -> int:
        query_id = next(self._query_ids)
        update = raw.types.UpdateBotInlineQuery(
            query_id=query_id,
            user_id=user_id,
            query=query,
            offset=offset,
            peer_type=raw.types.InlineQueryPeerTypeSameBotPM(),
        )
        await self.deliver(update, users=[user_id])
        return query_id

    # --- storage helpers --------------------------------------------------------------------------

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

    async def _parse(self, message: raw.types.Message, chat_id: int, sender: int | None) -> Any:
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
    ) -> StoredMessage:
        is_channel_post = chat_id < 0 and not self.channel_by_chat_id(chat_id).megagroup
        media = None
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
        )
        stored = StoredMessage(
            chat_id=chat_id,
            id=message_id,
            raw=roundtrip(message),
            parsed=await self._parse(message, chat_id, sender),
            outgoing=out,
            sender_id=sender,
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
        return raw.types.Updates(
            updates=updates,
            users=list(users.values()),
            chats=list(chats.values()),
            date=self.clock.timestamp(),
            seq=0,
        )

    def _new_id(self, chat_id: int) -> int:
        if chat_id > 0:
            return next(self._private_ids)
        return self._next_channel_id(self.channel_by_chat_id(chat_id))

    # --- RPC handlers -----------------------------------------------------------------------------

    def _get_state(self, _: Any) -> Any:
        return raw.types.updates.State(
            pts=self._pts, qts=0, date=self.clock.timestamp(), seq=0, unread_count=0
        )

    def _get_full_user(self, query: Any) -> Any:
        user_id = self._chat_id_of(query.id)
        user = self.users.get(user_id or 0)
        if user is None:
            raise PeerIdInvalid
        return raw.types.users.UserFull(
            full_user=raw.types.UserFull(
                id=user.id,
                settings=raw.types.PeerSettings(),
                notify_settings=raw.types.PeerNotifySettings(),
                common_chats_count=0,
            ),
            chats=[],
            users=[user.raw(is_self=user.id == self.bot.id)],
        )

    def _get_users(self, query: Any) -> Any:
        found = []
        for item in query.id:
            user = self.users.get(self._chat_id_of(item) or 0)
            if user is not None:
                found.append(user.raw(is_self=user.id == self.bot.id))
        return found

    def _get_channels(self, query: Any) -> Any:
        chats: list[Any] = [
            self.channels[c.channel_id].raw() for c in query.id if c.channel_id in self.channels
        ]
        return raw.types.messages.Chats(chats=chats)

    def _set_bot_commands(self, query: Any) -> bool:
        scope = query.scope
        if isinstance(scope, raw.types.BotCommandScopePeer):
            key = f"chat:{self._chat_id_of(scope.peer)}"
        else:
            key = type(scope).__name__.removeprefix("BotCommandScope").lower()
        self.commands[key] = [(c.command, c.description) for c in query.commands]
        return True

    async def _send(self, query: Any, document: DocumentState | None = None) -> Any:
        """Store what the bot sends (text or a cached document) and answer like Telegram."""
        chat_id = self._writable_chat(query.peer)
        stored = await self._store(
            chat_id,
            self._new_id(chat_id),
            query.message,
            out=True,
            sender=self.bot.id,
            entities=query.entities,
            reply_markup=query.reply_markup,
            document=document,
            noforwards=query.noforwards,
        )
        return self._updates_for(stored, random_id=query.random_id)

    async def _send_message(self, query: Any) -> Any:
        return await self._send(query)

    async def _send_media(self, query: Any) -> Any:
        self._writable_chat(query.peer)
        media = query.media
        if not isinstance(media, raw.types.InputMediaDocument) or not isinstance(
            media.id, raw.types.InputDocument
        ):
            raise UnknownRPCError(f"messages.SendMedia with {type(media).__name__}")
        document = self.documents.get(media.id.id)
        if document is None or document.access_hash != media.id.access_hash:
            raise MediaEmpty
        return await self._send(query, document)

    async def _edit_message(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.peer)
        if chat_id is None:
            raise PeerIdInvalid
        stored = self._find(chat_id, query.id)
        text = query.message if query.message is not None else stored.raw.message
        markup = query.reply_markup if query.reply_markup is not None else stored.raw.reply_markup
        entities = query.entities if query.message is not None else stored.raw.entities
        if (
            text == stored.raw.message
            and roundtrip(markup) == roundtrip(stored.raw.reply_markup)
            and (entities or []) == (stored.raw.entities or [])
        ):
            raise MessageNotModified
        message = stored.raw
        message.message = text
        message.entities = entities or None
        message.reply_markup = markup
        message.edit_date = self.clock.timestamp()
        stored.raw = roundtrip(message)
        stored.parsed = await self._parse(stored.raw, chat_id, stored.sender_id)
        stored.edited = True
        stored.version += 1
        return self._updates_for(stored, edit=True)

    def _delete_messages(self, query: Any) -> Any:
        count = 0
        for chat_id, messages in self.messages.items():
            if chat_id < 0:
                continue
            for message_id in query.id:
                stored = messages.get(message_id)
                if stored is not None and not stored.deleted:
                    stored.deleted = True
                    count += 1
        return raw.types.messages.AffectedMessages(pts=self._next_pts(), pts_count=count)

    def _delete_channel_messages(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.channel)
        if chat_id is None or chat_id not in self.messages:
            raise PeerIdInvalid
        count = 0
        for message_id in query.id:
            stored = self.messages[chat_id].get(message_id)
            if stored is not None and not stored.deleted:
                stored.deleted = True
                count += 1
        return raw.types.messages.AffectedMessages(pts=self._next_pts(), pts_count=count)

    async def _forward_messages(self, query: Any) -> Any:
        source = self._chat_id_of(query.from_peer)
        target = self._writable_chat(query.to_peer)
        if source is None:
            raise PeerIdInvalid
        updates: list[Any] = []
        users: dict[int, Any] = {}
        chats: dict[int, Any] = {}
        for message_id, random_id in zip(query.id, query.random_id, strict=True):
            original = self._find(source, message_id)
            media = original.raw.media
            document = None
            if isinstance(media, raw.types.MessageMediaDocument) and media.document is not None:
                document = self.documents.get(media.document.id)
            stored = await self._store(
                target,
                self._new_id(target),
                original.raw.message,
                out=True,
                sender=self.bot.id,
                entities=original.raw.entities,
                document=document,
                noforwards=query.noforwards,
            )
            envelope = self._updates_for(stored, random_id=random_id)
            updates += envelope.updates
            users.update({u.id: u for u in envelope.users})
            chats.update({c.id: c for c in envelope.chats})
        return raw.types.Updates(
            updates=updates,
            users=list(users.values()),
            chats=list(chats.values()),
            date=self.clock.timestamp(),
            seq=0,
        )

    def _message_list(self, chat_id: int, ids: list[Any]) -> tuple[list[Any], set[int]]:
        found: list[Any] = []
        senders: set[int] = set()
        for item in ids:
            message_id = getattr(item, "id", None)
            if isinstance(item, raw.types.InputMessageReplyTo):  # "the message `id` replies to"
                replying = self.messages.get(chat_id, {}).get(item.id)
                header = getattr(replying.raw, "reply_to", None) if replying else None
                message_id = getattr(header, "reply_to_msg_id", None)
            stored = self.messages.get(chat_id, {}).get(message_id or 0)
            if stored is None or stored.deleted:
                found.append(raw.types.MessageEmpty(id=message_id or 0))
            else:
                found.append(stored.raw)
                if stored.sender_id is not None:
                    senders.add(stored.sender_id)
        return found, senders

    def _get_channel_messages(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.channel)
        if chat_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if not channel.bot_is_admin:
            raise ChatAdminRequired
        found, senders = self._message_list(chat_id, query.id)
        return raw.types.messages.ChannelMessages(
            pts=self._pts,
            count=len(found),
            messages=found,
            topics=[],
            chats=[channel.raw()],
            users=[self.users[s].raw() for s in senders if s in self.users],
        )

    def _get_messages(self, query: Any) -> Any:
        found: list[Any] = []
        for chat_id in [c for c in self.messages if c > 0]:
            hits, _ = self._message_list(chat_id, query.id)
            found += [m for m in hits if not isinstance(m, raw.types.MessageEmpty)]
        return raw.types.messages.Messages(
            messages=found, topics=[], chats=[], users=[u.raw() for u in self.users.values()]
        )

    def _set_callback_answer(self, query: Any) -> bool:
        self.callback_answers[query.query_id] = CallbackAnswerRecord(
            query.query_id, query.message, bool(query.alert), query.url
        )
        return True

    def _set_inline_results(self, query: Any) -> bool:
        if len(query.results) > 50:  # noqa: PLR2004 - Telegram's limit
            raise ResultsTooMuch
        switch = query.switch_pm
        self.inline_answers[query.query_id] = InlineAnswerRecord(
            query_id=query.query_id,
            user_id=0,
            query="",
            offset="",
            results=list(query.results),
            next_offset=query.next_offset or "",
            cache_time=query.cache_time,
            is_personal=bool(query.private),
            switch_pm_text=switch.text if switch else None,
            switch_pm_parameter=switch.start_param if switch else None,
        )
        return True

    def _resolve_username(self, query: Any) -> Any:
        wanted = query.username.lower()
        for user in self.users.values():
            if (user.username or "").lower() == wanted:
                peer = raw.types.PeerUser(user_id=user.id)
                return raw.types.contacts.ResolvedPeer(peer=peer, chats=[], users=[user.raw()])
        for channel in self.channels.values():
            if (channel.username or "").lower() == wanted:
                return raw.types.contacts.ResolvedPeer(
                    peer=channel.peer(), chats=[channel.raw()], users=[]
                )
        raise UsernameNotOccupied

    def _export_chat_invite(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.peer)
        if chat_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if not channel.bot_is_admin:
            raise ChatAdminRequired
        request = bool(query.request_needed)
        link = f"https://t.me/+{abs(_hash('invite', chat_id, len(self.invite_links))):x}"
        self.invite_links.append((chat_id, link, request))
        return raw.types.ChatInviteExported(
            link=link,
            admin_id=self.bot.id,
            date=self.clock.timestamp(),
            request_needed=request or None,
        )

    def _get_participant(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.channel)
        user_id = self._chat_id_of(query.participant)
        if chat_id is None or user_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if not channel.bot_is_admin:
            raise ChatAdminRequired
        status = channel.members.get(user_id, "left")
        date = self.clock.timestamp()
        participant: Any
        if status == "member":
            participant = raw.types.ChannelParticipant(user_id=user_id, date=date)
        elif status == "admin":
            participant = raw.types.ChannelParticipantAdmin(
                user_id=user_id,
                promoted_by=self.bot.id,
                date=date,
                admin_rights=raw.types.ChatAdminRights(post_messages=True),
            )
        elif status == "creator":
            participant = raw.types.ChannelParticipantCreator(
                user_id=user_id, admin_rights=raw.types.ChatAdminRights(post_messages=True)
            )
        elif status == "kicked":
            participant = raw.types.ChannelParticipantBanned(
                peer=raw.types.PeerUser(user_id=user_id),
                kicked_by=self.bot.id,
                date=date,
                banned_rights=raw.types.ChatBannedRights(until_date=0, view_messages=True),
            )
        else:
            raise UserNotParticipant
        return raw.types.channels.ChannelParticipant(
            participant=participant,
            chats=[channel.raw()],
            # Like Telegram: the member and whoever promoted or kicked them (here the bot).
            users=[self.users[u].raw() for u in {user_id, self.bot.id} if u in self.users],
        )


class DoubleClient(Client):
    """A real Pyrogram `Client` with in-memory storage whose network is the double."""

    def __init__(self, double: TelegramDouble, *, workers: int = 4, **kwargs: Any) -> None:
        super().__init__(
            "double",
            api_id=1,
            api_hash="0" * 32,
            bot_token=f"{double.bot.id}:{'A' * 35}",
            in_memory=True,
            workers=workers,
            **kwargs,
        )
        self.double = double
        double.client = self

    async def connect(self) -> bool:
        if self.is_connected:
            raise ConnectionError("Client is already connected")
        await self.storage.open()  # type: ignore[no-untyped-call]  # unannotated upstream
        await self.storage.dc_id(2)
        await self.storage.api_id(1)
        await self.storage.test_mode(False)
        await self.storage.auth_key(b"\x00" * 256)
        await self.storage.user_id(self.double.bot.id)
        await self.storage.is_bot(True)
        await self.storage.date(0)
        self.is_connected = True
        return True

    async def disconnect(self) -> None:
        if not self.is_connected:
            raise ConnectionError("Client is already disconnected")
        if self.is_initialized:
            raise ConnectionError("Can't disconnect an initialized client")
        await self.storage.close()  # type: ignore[no-untyped-call]  # unannotated upstream
        self.is_connected = False

    async def invoke(self, query: TLObject[Any], *args: Any, **kwargs: Any) -> Any:
        """Like `Client.invoke`, with the double as the session. Pyrogram's session-level sleep
        on short FloodWaits is not reproduced: every FloodWait reaches the caller."""
        result = await self.double.invoke(query)
        await self.fetch_peers(getattr(result, "users", []))
        await self.fetch_peers(getattr(result, "chats", []))
        return result

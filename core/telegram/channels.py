"""Reading a channel's posts through Pyrogram, for the channel index jobs.

Bots cannot read a channel's history: they ask for posts by id (`channels.GetMessages`, at most
200 ids at once), which is what `PyrogramChannels.read` does. Errors come out as the project's
own: `FloodWaitError` (any length: the job decides how to wait), `ChannelUnreadableError` (the
bot lost access: the job pauses) and `TelegramError` (anything else: the job retries).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyrogram import Client, raw
from pyrogram.errors import FloodWait, RPCError
from pyrogram.types import Message

from core.services.channel_index import ChannelInfo, Post
from core.services.indexing import IncomingFile
from core.utils.errors import ChannelUnreadableError, FloodWaitError, TelegramError

__all__ = ["MAX_IDS", "PyrogramChannels", "incoming_file"]

MAX_IDS = 200  # channels.GetMessages takes at most this many ids

_NOT_ADMIN = "I am not an admin of that channel: add me as an admin, then try again."
_UNKNOWN = (
    "I cannot find that channel. Use its @username, its -100… id or a post link, "
    "and make sure I am an admin there."
)
_UNREADABLE: dict[str, str] = {
    "CHAT_ADMIN_REQUIRED": _NOT_ADMIN,
    "CHANNEL_PRIVATE": "That channel is private to me: add me to it as an admin.",
    "CHANNEL_INVALID": _UNKNOWN,
    "PEER_ID_INVALID": _UNKNOWN,
    "USERNAME_NOT_OCCUPIED": _UNKNOWN,
    "USERNAME_INVALID": _UNKNOWN,
    "CHAT_FORBIDDEN": _NOT_ADMIN,
}


def incoming_file(message: Message) -> IncomingFile | None:
    """The file a message carries (document, video or audio), as the index wants it."""
    media = message.document or message.video or message.audio
    if media is None or message.chat is None or message.chat.id is None:
        return None
    return IncomingFile(
        unique_id=media.file_unique_id,
        file_id=media.file_id,
        file_name=getattr(media, "file_name", None),
        file_size=int(media.file_size or 0),
        mime_type=getattr(media, "mime_type", None),
        caption=message.caption,
        chat_id=message.chat.id,
        message_id=message.id,
    )


class PyrogramChannels:
    """`ChannelReader` on a Pyrogram client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def describe(self, chat: int | str) -> ChannelInfo:
        """The channel `chat` names (an id or @username) if the bot can read its posts;
        raises `ChannelUnreadableError` with the reason otherwise."""
        try:
            peer = await self._client.resolve_peer(chat)
        except (KeyError, ValueError) as exc:  # an id Pyrogram has never seen
            raise ChannelUnreadableError(_UNKNOWN) from exc
        except RPCError as exc:
            raise _translate(exc, "resolve_peer") from exc
        if not isinstance(peer, raw.types.InputPeerChannel):
            raise ChannelUnreadableError(
                "That is not a channel: I index the posts of channels I administer."
            )
        try:
            found: Any = await self._client.invoke(
                raw.functions.channels.GetChannels(
                    id=[
                        raw.types.InputChannel(
                            channel_id=peer.channel_id, access_hash=peer.access_hash
                        )
                    ]
                )
            )
        except RPCError as exc:
            raise _translate(exc, "get_channels") from exc
        chats = [c for c in found.chats if isinstance(c, raw.types.Channel)]
        if not chats:
            raise ChannelUnreadableError(_UNKNOWN)
        channel = chats[0]
        chat_id = int(f"-100{channel.id}")
        await self.read(chat_id, [1])  # raises when the bot may not read the posts
        return ChannelInfo(
            chat_id=chat_id, title=channel.title or str(chat_id), username=channel.username
        )

    async def read(self, chat_id: int, ids: Sequence[int]) -> list[Post]:
        """The posts with these ids, in order; a deleted or never-made id is an empty post."""
        if len(ids) > MAX_IDS:
            raise ValueError(f"at most {MAX_IDS} ids per request")
        try:
            messages = await self._client.get_messages(chat_id, list(ids))
        except FloodWait as exc:
            seconds = float(exc.value) if isinstance(exc.value, int | float) else 1.0
            raise FloodWaitError(seconds, "get_messages") from exc
        except (KeyError, ValueError) as exc:
            raise ChannelUnreadableError(_UNKNOWN) from exc
        except RPCError as exc:
            raise _translate(exc, "get_messages") from exc
        found = messages if isinstance(messages, list) else [messages]
        by_id = {m.id: m for m in found if m is not None and not m.empty}
        return [
            Post(id=i, file=incoming_file(by_id[i])) if i in by_id else Post(id=i, exists=False)
            for i in ids
        ]


def _translate(exc: RPCError, method: str) -> ChannelUnreadableError | TelegramError:
    telegram_id = str(getattr(exc, "ID", "") or type(exc).__name__)
    reason = _UNREADABLE.get(telegram_id)
    if reason is not None:
        return ChannelUnreadableError(reason)
    return TelegramError(telegram_id, method)

"""Reading a channel's posts through Pyrogram, for the channel index jobs.

Bots cannot read a channel's history: they ask for posts by id (`channels.GetMessages`, at most
200 ids at once), which is what `PyrogramChannels.read` does. It reads the raw answer itself
(`raw_incoming_file`) instead of through Pyrogram's `get_messages`, which builds a full message
object per post (chat, sender, entities, thumbnails; three quarters of a batch's processing
time), fetches the post each reply points to with another request, and sleeps through a
FloodWait of any length inside the session. Errors come out as the project's own:
`FloodWaitError` (longer than the client's `sleep_threshold`: the job waits, and shows it),
`ChannelUnreadableError` (the bot lost access: the job pauses) and `TelegramError` (anything
else, including Pyrogram giving up after its own retries: the job retries).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pyrogram import Client, raw
from pyrogram.errors import FloodWait, RPCError
from pyrogram.file_id import FileId, FileType
from pyrogram.types import Message

from core.models import ChannelInfo, IncomingFile, Post
from core.telegram.errors import code_for
from core.telegram.fileid import document_unique_id
from core.utils.errors import ChannelUnreadableError, FloodWaitError, TelegramError

__all__ = ["MAX_IDS", "PyrogramChannels", "incoming_file", "raw_incoming_file"]

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


# The name Pyrogram makes up for a video sent without one (the time it parsed the message).
_MADE_UP_VIDEO_NAME = re.compile(r"video_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.mp4")


def incoming_file(message: Message) -> IncomingFile | None:
    """The file a message carries (document, video or audio), as the index wants it."""
    media = message.document or message.video or message.audio
    if media is None or message.chat is None or message.chat.id is None:
        return None
    file_name = getattr(media, "file_name", None)
    if media is message.video and file_name and _MADE_UP_VIDEO_NAME.fullmatch(file_name):
        file_name = None  # not the file's name: its caption names it (`build_record`)
    return IncomingFile(
        unique_id=media.file_unique_id,
        file_id=media.file_id,
        file_name=file_name,
        file_size=int(media.file_size or 0),
        mime_type=getattr(media, "mime_type", None),
        caption=message.caption,
        chat_id=message.chat.id,
        message_id=message.id,
    )


def _document_kind(attributes: dict[type[Any], Any]) -> FileType | None:
    """What Pyrogram parses a document with these attributes as, if it is a file we index."""
    if {raw.types.DocumentAttributeAnimated, raw.types.DocumentAttributeSticker} & set(attributes):
        return None
    video = attributes.get(raw.types.DocumentAttributeVideo)
    if video is not None:
        return None if video.round_message else FileType.VIDEO
    audio = attributes.get(raw.types.DocumentAttributeAudio)
    if audio is not None:
        return None if audio.voice else FileType.AUDIO
    return FileType.DOCUMENT


def raw_incoming_file(message: Any, chat_id: int) -> IncomingFile | None:
    """`incoming_file` of a raw `Message` of the channel `chat_id`, read straight from the raw
    document with Pyrogram's file-id codec: the same file ids, kinds and names as Pyrogram's
    parsed message gives (a document, a video or an audio; an animation, sticker, video note
    or voice message is none of them)."""
    media = getattr(message, "media", None)
    if not isinstance(media, raw.types.MessageMediaDocument):
        return None
    document = media.document
    if not isinstance(document, raw.types.Document):
        return None
    # The last attribute of a kind counts, as in Pyrogram's parser.
    attributes: dict[type[Any], Any] = {type(a): a for a in document.attributes}
    kind = _document_kind(attributes)
    if kind is None:
        return None
    named = attributes.get(raw.types.DocumentAttributeFilename)
    return IncomingFile(
        unique_id=document_unique_id(document.id),
        file_id=FileId(
            file_type=kind,
            dc_id=document.dc_id,
            media_id=document.id,
            access_hash=document.access_hash,
            file_reference=document.file_reference,
        ).encode(),
        file_name=named.file_name if named is not None else None,
        file_size=int(document.size or 0),
        mime_type=document.mime_type,
        caption=message.message or None,
        chat_id=chat_id,
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
            peer = await self._client.resolve_peer(chat_id)
        except (KeyError, ValueError) as exc:
            raise ChannelUnreadableError(_UNKNOWN) from exc
        except RPCError as exc:
            raise _translate(exc, "get_messages") from exc
        if not isinstance(peer, raw.types.InputPeerChannel):
            raise ChannelUnreadableError(_UNKNOWN)
        request = raw.functions.channels.GetMessages(
            channel=raw.types.InputChannel(
                channel_id=peer.channel_id, access_hash=peer.access_hash
            ),
            id=[raw.types.InputMessageID(id=i) for i in ids],
        )
        try:
            # The client's own sleep_threshold: short FloodWaits are slept through by the
            # session, longer ones reach the job.
            answer: Any = await self._client.invoke(request)
        except FloodWait as exc:
            seconds = float(exc.value) if isinstance(exc.value, int | float) else 1.0
            raise FloodWaitError(seconds, "get_messages") from exc
        except RPCError as exc:
            raise _translate(exc, "get_messages") from exc
        except TimeoutError as exc:  # the session gave up after its own retries
            raise TelegramError("TIMEOUT", "get_messages") from exc
        by_id = {
            m.id: m
            for m in getattr(answer, "messages", [])
            if not isinstance(m, raw.types.MessageEmpty)
        }
        return [
            Post(id=i, file=raw_incoming_file(by_id[i], chat_id))
            if i in by_id
            else Post(id=i, exists=False)
            for i in ids
        ]


def _translate(exc: RPCError, method: str) -> ChannelUnreadableError | TelegramError:
    telegram_id = str(getattr(exc, "ID", "") or type(exc).__name__)
    reason = _UNREADABLE.get(telegram_id)
    if reason is not None:
        return ChannelUnreadableError(reason)
    return TelegramError(telegram_id, method, specific_code=code_for(telegram_id))

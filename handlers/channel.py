"""Media posts in the indexed channels go into the search index; edits update their file,
deletions remove it."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import Message

from core.models import IncomingFile
from core.telegram.channels import incoming_file
from handlers.middleware import Callback
from services.channels import ChannelDirectory
from services.indexing import IndexingService

__all__ = [
    "make_on_channel_delete",
    "make_on_channel_edit",
    "make_on_channel_post",
]


def _watched(channels: ChannelDirectory, message: Message) -> IncomingFile | None:
    """The file a post carries, if it is in a channel the bot indexes."""
    incoming = incoming_file(message)
    if incoming is None or message.chat is None:
        return None
    if not channels.watches(incoming.chat_id, message.chat.username):
        return None
    return incoming


def make_on_channel_post(*, channels: ChannelDirectory, indexing: IndexingService) -> Callback:
    async def on_channel_post(_client: Client, message: Message) -> None:
        incoming = _watched(channels, message)
        if incoming is not None:
            await indexing.index([incoming])
            chat = message.chat
            await channels.note_post(
                incoming.chat_id,
                incoming.message_id,
                title=chat.title if chat is not None else None,
                username=chat.username if chat is not None else None,
            )

    return on_channel_post


def make_on_channel_edit(*, channels: ChannelDirectory, indexing: IndexingService) -> Callback:
    async def on_channel_edit(_client: Client, message: Message) -> None:
        incoming = _watched(channels, message)
        if incoming is not None:
            await indexing.edited(incoming)

    return on_channel_edit


def make_on_channel_delete(*, indexing: IndexingService) -> Callback:
    async def on_channel_delete(_client: Client, messages: list[Message]) -> None:
        for message in messages:
            if message.chat is not None and message.chat.id is not None:
                await indexing.remove_message(message.chat.id, message.id)

    return on_channel_delete

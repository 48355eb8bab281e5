"""Small helpers several handler modules share."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.enums import ChatType

__all__ = ["GROUP_TYPES", "bot_username"]

GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


def bot_username(client: Client) -> str:
    """The bot's @username (without @), known once the client has started."""
    return client.me.username if client.me and client.me.username else "bot"

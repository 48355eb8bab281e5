"""Small helpers several handler modules share."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.enums import ChatType
from pyrogram.types import User

from handlers.log_views import log_action
from services.log_channel import LogChannel

__all__ = ["GROUP_TYPES", "audit", "bot_username"]

GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


def bot_username(client: Client) -> str:
    """The bot's @username (without @), known once the client has started."""
    return client.me.username if client.me and client.me.username else "bot"


def audit(log_channel: LogChannel, admin: User | None, what: str) -> None:
    """Tell the log channel (if any) what an admin did; `what` is HTML."""
    log_channel.post(log_action(admin, what))

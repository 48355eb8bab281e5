"""Small helpers several handler modules share."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.enums import ChatType
from pyrogram.types import CallbackQuery, User

from core.utils.errors import AccessError
from handlers.log_views import log_action
from services import Services

__all__ = ["GROUP_TYPES", "audit", "bot_username", "require_admin"]

GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


def bot_username(client: Client) -> str:
    """The bot's @username (without @), known once the client has started."""
    return client.me.username if client.me and client.me.username else "bot"


def audit(services: Services, admin: User | None, what: str) -> None:
    """Tell the log channel (if any) what an admin did; `what` is HTML."""
    services.log_channel.post(log_action(admin, what))


def require_admin(services: Services, query: CallbackQuery) -> None:
    """Admin-only buttons: anyone else gets the middleware's "not allowed" alert."""
    if query.from_user is None or not services.guards.is_admin(query.from_user.id):
        raise AccessError

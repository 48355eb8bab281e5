"""What the bot posts in the operator's log channel (`LOG_CHANNEL`); user text is escaped."""

from __future__ import annotations

from pyrogram.types import User as TelegramUser

from core.models import ChatRecord, User
from handlers.views import escape

__all__ = [
    "log_action",
    "log_left_group",
    "log_new_group",
    "log_new_user",
    "log_removed_from_group",
    "log_started",
    "log_stopping",
]


def log_started(version: str, files: int | None, users: int) -> str:
    """`files` None: the search index is being rebuilt (its count is not known yet)."""
    counted = f"{files:,} files" if files is not None else "files being indexed"
    return f"🟢 Bot started · version {escape(version)} · {counted} · {users:,} users"


def log_stopping() -> str:
    return "🔴 Bot stopping"


def _user(user_id: int, name: str, username: str | None) -> str:
    handle = f"@{escape(username)}, " if username else ""
    return f"{escape(name) or 'user'} ({handle}<code>{user_id}</code>)"


def log_new_user(user: User) -> str:
    return f"👤 New user: {_user(user.id, user.first_name, user.username)}"


def log_new_group(chat: ChatRecord) -> str:
    return f"👥 Added to group: {escape(chat.title)} (<code>{chat.id}</code>)"


def log_left_group(title: str, chat_id: int) -> str:
    return f"👋 Left group: {escape(title)} (<code>{chat_id}</code>)"


def log_removed_from_group(title: str, chat_id: int) -> str:
    return f"🚪 Removed from group: {escape(title)} (<code>{chat_id}</code>)"


def log_action(admin: TelegramUser | None, what: str) -> str:
    """An admin's action, with who did it; `what` is already HTML."""
    who = _user(admin.id, admin.first_name or "", admin.username) if admin else "an admin"
    return f"🛠 {who}: {what}"

"""Texts for the users and premium plans admins manage (`/ban`, `/user`, `/premium`, …) and
for what those users are told; all user text is HTML-escaped here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core.models import ChatRecord, User
from handlers.views import escape
from services.users import FOREVER

__all__ = [
    "ADMIN_CANNOT_BE_BANNED",
    "BAN_USAGE",
    "CHATS_CSV_HEADER",
    "DELETE_ALL_WORD",
    "DELETE_KEPT",
    "DELETE_USAGE",
    "LEAVE_USAGE",
    "PLAN_REVOKED_NOTICE",
    "PREMIUM_USAGE",
    "UNBANNED_NOTICE",
    "UNBAN_USAGE",
    "USERS_CSV_HEADER",
    "USER_USAGE",
    "ban_notice",
    "banned_list_text",
    "banned_text",
    "chat_row",
    "delete_all_prompt",
    "delete_offer_text",
    "deleted_text",
    "escape",
    "export_caption",
    "my_plan_text",
    "plan_granted_notice",
    "plan_granted_text",
    "plan_reminder_text",
    "premium_list_text",
    "unknown_user_text",
    "user_card_text",
    "user_row",
    "when",
    "who",
]

BAN_USAGE = (
    "Usage: <code>/ban &lt;id|@username&gt; [reason]</code>\n"
    "Example: <code>/ban 123456789 posting spam links</code>"
)
UNBAN_USAGE = "Usage: <code>/unban &lt;id|@username&gt;</code>"
USER_USAGE = "Usage: <code>/user &lt;id|@username&gt;</code>"
PREMIUM_USAGE = (
    "Usage:\n"
    "<code>/premium add &lt;id|@username&gt; &lt;length&gt;</code> — start a plan or extend the "
    "running one; length like <code>30d</code>, <code>12h</code>, <code>2w</code>, "
    "<code>1y</code> or <code>forever</code>\n"
    "<code>/premium remove &lt;id|@username&gt;</code> — end a plan now\n"
    "<code>/premium list</code> — running plans"
)
ADMIN_CANNOT_BE_BANNED = "Admins cannot be banned (ADMINS in the settings decides who is one)."
NEVER_YEAR = 1970  # users an admin banned or made premium before they wrote: never active
UNBANNED_NOTICE = "✅ You can use this bot again."
PLAN_REVOKED_NOTICE = "Your premium plan was ended by an admin."


def when(moment: datetime) -> str:
    return "forever" if moment >= FOREVER else moment.strftime("%Y-%m-%d %H:%M UTC")


def who(user: User) -> str:
    """`Alice (@alice, 1001)`: how admins see a user."""
    name = escape(user.first_name) if user.first_name else "user"
    handle = f"@{escape(user.username)}, " if user.username else ""
    return f"{name} ({handle}<code>{user.id}</code>)"


def unknown_user_text(ref: str) -> str:
    return (
        f"I don't know {escape(ref)}: a @username works once that user has written to the bot. "
        "Use their numeric id instead."
    )


def ban_notice(reason: str) -> str:
    text = "🚫 You have been banned from this bot."
    return f"{text}\nReason: {escape(reason)}" if reason else text


def banned_text(user: User, *, newly: bool) -> str:
    ban = user.banned
    if ban is None:  # pragma: no cover - only called for banned users
        return f"{who(user)} is not banned."
    reason = f"Reason: {escape(ban.reason)}." if ban.reason else "No reason given."
    if newly:
        return f"🚫 Banned {who(user)}. {reason} They were told."
    return f"{who(user)} is already banned since {when(ban.at)}. {reason}"


def banned_list_text(users: Sequence[User]) -> str:
    if not users:
        return "Nobody is banned."
    lines = [f"<b>Banned users</b> ({len(users)}, most recent first)"]
    for user in users:
        ban = user.banned
        if ban is not None:
            reason = f" — {escape(ban.reason)}" if ban.reason else ""
            lines.append(f"• {who(user)}{reason} · {when(ban.at)}")
    lines.append("\n/unban &lt;id&gt; lifts a ban.")
    return "\n".join(lines)


def _plan(user: User, now: datetime, *, is_admin: bool) -> str:
    if is_admin:
        return "admin (everything is open)"
    until = user.premium_until
    if until is not None and now < until:
        return "⭐ premium, forever" if until >= FOREVER else f"⭐ premium until {when(until)}"
    if until is not None:
        return f"free (premium ended {when(until)})"
    return "free"


def user_card_text(user: User, now: datetime, *, is_admin: bool) -> str:
    ban = user.banned
    banned = (
        f"yes, since {when(ban.at)}" + (f" ({escape(ban.reason)})" if ban.reason else "")
        if ban is not None
        else "no"
    )
    return "\n".join(
        [
            f"<b>{who(user)}</b>",
            f"First seen: {when(user.joined_at)}",
            f"Last active: {when(user.last_seen) if user.last_seen.year > NEVER_YEAR else 'never'}",
            f"Plan: {_plan(user, now, is_admin=is_admin)}",
            f"Banned: {banned}",
            f"Blocked the bot: {'yes' if user.blocked_bot else 'no'}",
            f"Searches: {user.searches} · Downloads: {user.downloads}",
        ]
    )


def plan_granted_text(user: User, *, extended: bool) -> str:
    until = user.premium_until or FOREVER
    if until >= FOREVER:
        return f"⭐ {who(user)} is premium forever. They were told."
    verb = "extended to" if extended else "premium until"
    return f"⭐ {who(user)}: {verb} {when(until)}. They were told."


def plan_granted_notice(user: User, *, extended: bool) -> str:
    until = user.premium_until or FOREVER
    if until >= FOREVER:
        return "⭐ You are a premium user now, with no end date. Enjoy!"
    if extended:
        return f"⭐ Your premium plan was extended: it now ends {when(until)}."
    return f"⭐ Your premium plan is active until {when(until)}. Enjoy!"


def premium_list_text(users: Sequence[User], now: datetime) -> str:
    if not users:
        return "No one has a running premium plan."
    lines = [f"<b>Premium users</b> ({len(users)}, the soonest to end first)"]
    for user in users:
        until = user.premium_until or FOREVER
        left = "" if until >= FOREVER else f" ({_left(until - now)} left)"
        lines.append(f"• {who(user)} — until {when(until)}{left}")
    return "\n".join(lines)


def _left(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(max(0, seconds), 86_400)
    if days:
        return f"{days} d"
    hours, rest = divmod(rest, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"


def my_plan_text(user: User | None, now: datetime, *, is_admin: bool, info: str) -> str:
    if is_admin:
        return "You are an admin: every file is open to you."
    until = user.premium_until if user is not None else None
    if until is not None and now < until:
        if until >= FOREVER:
            return "⭐ <b>Your plan: premium</b>, with no end date."
        return f"⭐ <b>Your plan: premium</b> until {when(until)} ({_left(until - now)} left)."
    text = "<b>Your plan: free.</b>"
    if until is not None:
        text += f" Your premium plan ended {when(until)}."
    return f"{text}\n\n{escape(info.strip())}" if info.strip() else text


def plan_reminder_text(user: User, notice: str, info: str) -> str:
    until = user.premium_until or FOREVER
    extra = f"\n\n{escape(info.strip())}" if info.strip() else ""
    if notice == "ends_soon":
        return f"⭐ Your premium plan ends in less than a day, at {when(until)}.{extra}"
    return f"Your premium plan has ended ({when(until)}).{extra}"


LEAVE_USAGE = (
    "Usage: <code>/leave &lt;chat id&gt;</code> (the ids are in /chats)\n"
    "Example: <code>/leave -1001234567890</code>"
)
USERS_CSV_HEADER = (
    "id",
    "first_name",
    "username",
    "joined_at",
    "last_seen",
    "premium_until",
    "banned_at",
    "ban_reason",
    "blocked_bot",
    "searches",
    "downloads",
)
CHATS_CSV_HEADER = ("id", "title", "kind", "active", "joined_at", "settings")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def user_row(user: User) -> tuple[object, ...]:
    ban = user.banned
    return (
        user.id,
        user.first_name,
        user.username or "",
        _iso(user.joined_at),
        _iso(user.last_seen) if user.last_seen.year > NEVER_YEAR else "",
        _iso(user.premium_until),
        _iso(ban.at) if ban else "",
        ban.reason if ban else "",
        "yes" if user.blocked_bot else "no",
        user.searches,
        user.downloads,
    )


def chat_row(chat: ChatRecord) -> tuple[object, ...]:
    settings = ";".join(f"{k}={v}" for k, v in sorted(chat.settings.items()))
    return (
        chat.id,
        chat.title,
        chat.kind,
        "yes" if chat.active else "no",
        _iso(chat.joined_at),
        settings,
    )


def export_caption(name: str, count: int) -> str:
    what = "users" if name.startswith("users") else "chats"
    return f"{count:,} {what}."


DELETE_USAGE = (
    "Usage: <code>/delete &lt;query&gt;</code>: shows the files whose names match every word "
    "as written (no typo matches) and deletes them after you confirm.\n"
    "Example: <code>/delete heat 1995 cam</code>"
)
DELETE_KEPT = "Kept: nothing was deleted."
DELETE_ALL_WORD = "DELETE-EVERYTHING"
LISTED = 10


def delete_offer_text(query: str, names: Sequence[str], total: int) -> str:
    if not total:
        return f"No file matches “{escape(query)}” word for word. Nothing to delete."
    lines = [f"🗑 <b>{total:,} files</b> match “{escape(query)}”:"]
    lines += [f"• {escape(name)}" for name in names[:LISTED]]
    if total > LISTED:
        lines.append(f"… and {total - LISTED:,} more")
    lines.append("\nDelete them? They are removed from every search at once.")
    return "\n".join(lines)


def deleted_text(count: int) -> str:
    return f"🗑 Deleted {count:,} files."


def delete_all_prompt(files: int) -> str:
    return (
        f"⚠️ This deletes <b>all {files:,} files</b> from the library and every search index. "
        "Channels stay listed; re-index them with /index.\n"
        f"To confirm, send: <code>/deleteall {DELETE_ALL_WORD}</code>"
    )

"""Every user-visible text and keyboard; all user-provided text is HTML-escaped here."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from html import escape

from pyrogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.cache.enhanced_cache import CacheStats
from core.models import FileRecord
from core.search.normalize import strip_extension
from core.services.delivery import human_size
from core.services.search import SearchPage

__all__ = [
    "admin_stats_text",
    "cache_stats_text",
    "help_keyboard",
    "help_text",
    "start_keyboard",
    "start_text",
]

Encode = Callable[..., str]

USER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does"),
    ("help", "How to search and what you can do"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Users, uptime and database"),
    ("cache", "Cache hit ratios and sizes"),
)


def start_text(first_name: str, bot_username: str) -> str:
    return (
        f"👋 Hi <b>{escape(first_name or 'there')}</b>!\n\n"
        "I find files posted in this bot's channels. Send me a title — for example "
        "<code>dark city 1998</code> — and I will list the matching files; tap one to get it.\n\n"
        f"You can also search from any chat: type <code>@{escape(bot_username)} title</code>."
    )


def start_keyboard(encode: Encode, bot_username: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("🔍 Search inline", switch_inline_query_current_chat="")],
            [InlineKeyboardButton("❓ Help", callback_data=encode("help"))],
            [
                InlineKeyboardButton(
                    "\N{HEAVY PLUS SIGN} Add me to a group",
                    url=f"https://t.me/{bot_username}?startgroup=true",
                )
            ],
        ]
    )


def help_text(*, is_admin: bool, debug_enabled: bool = False) -> str:
    lines = [
        "<b>How to search</b>",
        (
            "Send a title in this chat. Word order does not matter, and you can add a year, a "
            "season/episode like <code>s02e03</code> or a resolution like <code>1080p</code>."
        ),
        "",
        "<b>Commands</b>",
        *(f"/{name} — {escape(text)}" for name, text in USER_COMMANDS),
    ]
    if is_admin:
        lines += ["", "<b>Admin commands</b>"]
        lines += [f"/{name} — {escape(text)}" for name, text in ADMIN_COMMANDS]
        if debug_enabled:
            lines.append("Debug traces are enabled (ENABLE_DEBUG_CMD).")
    return "\n".join(lines)


def help_keyboard(encode: Encode) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("« Back", callback_data=encode("start"))]])


def admin_stats_text(*, users: int, uptime_seconds: float, database: str) -> str:
    hours, rest = divmod(int(uptime_seconds), 3600)
    minutes = rest // 60
    return (
        "<b>Bot statistics</b>\n"
        f"Users: <b>{users}</b>\n"
        f"Uptime: {hours} h {minutes} min\n"
        f"Database: {escape(database)}"
    )


def cache_stats_text(stats: Mapping[str, CacheStats]) -> str:
    if not stats:
        return "No caches are in use yet."
    rows: Sequence[str] = [
        f"{s.name:<14} {s.size:>6}/{s.maxsize:<7} {s.hit_ratio:>6.1%} "
        f"{s.hits:>7} {s.misses:>7} {s.evictions:>6} {s.expirations:>6}"
        for s in stats.values()
    ]
    header = (
        f"{'cache':<14} {'size/max':>14} {'hits%':>6} {'hits':>7} {'misses':>7} "
        f"{'evict':>6} {'expire':>6}"
    )
    return "<b>Caches</b>\n<pre>" + escape("\n".join([header, *rows])) + "</pre>"


# --- search ---------------------------------------------------------------------------------------

STALE_SEARCH = "This search has expired. Please send it again."
BUTTON_LABEL_MAX = 60


def bad_query_text(reason: str) -> str:
    return f"I can't search for that: {escape(reason)}.\nSend a title, like <code>dark city</code>."


def file_label(record: FileRecord) -> str:
    """`[700 MB] Dark City 1998 720p` — readable, and short enough for a button."""
    name = re.sub(r"[._]+", " ", strip_extension(record.file_name)).strip()
    label = f"[{human_size(record.file_size)}] {name}"
    if len(label) > BUTTON_LABEL_MAX:
        label = label[: BUTTON_LABEL_MAX - 1].rstrip() + "…"
    return label


def results_text(page: SearchPage) -> str:
    query = page.text
    if page.total == 0:
        text = f"No files match <b>{escape(query)}</b>."
        if page.suggestions:
            return text + "\nDid you mean:"
        return text + "\nCheck the spelling, or try fewer words."
    noun = "file" if page.total == 1 else "files"
    text = f"🔎 <b>{page.total_label}</b> {noun} for <b>{escape(query)}</b>"
    if page.pages > 1:
        text += f"\nPage {page.page} of {page.pages}"
    return text


def results_keyboard(
    page: SearchPage,
    token: str,
    encode: Encode,
    suggestions: Sequence[tuple[str, str]] = (),
) -> InlineKeyboardMarkup | None:
    """One button per file, then Prev / x of y / Next; or "did you mean" buttons (text, token)."""
    rows = [
        [InlineKeyboardButton(file_label(f), callback_data=encode("f", f.id))] for f in page.items
    ]
    rows += [
        [InlineKeyboardButton(f"🔍 {text}", callback_data=encode("sg", suggestion))]
        for text, suggestion in suggestions
    ]
    if page.pages > 1:
        nav = []
        if page.page > 1:
            nav.append(
                InlineKeyboardButton("« Prev", callback_data=encode("pg", token, page.page - 1))
            )
        nav.append(
            InlineKeyboardButton(f"{page.page} / {page.pages}", callback_data=encode("noop"))
        )
        if page.page < page.pages:
            nav.append(
                InlineKeyboardButton("Next »", callback_data=encode("pg", token, page.page + 1))
            )
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


# --- auto-delete ----------------------------------------------------------------------------------


def auto_delete_notice(minutes: int) -> str:
    span = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return (
        f"⏳ This file will be deleted in <b>{span}</b>. "
        "Forward it to your Saved Messages to keep it."
    )


def auto_deleted_text(count: int) -> str:
    files = "file was" if count == 1 else f"{count} files were"
    return f"🗑 The {files} deleted as announced. Search again any time to get it back."

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
from core.services.subscription import ChannelLink

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
    shown = KIND_LABELS.get(page.kind or "")
    if page.total == 0:
        text = f"No files match <b>{escape(query)}</b>."
        if page.suggestions:
            return text + "\nDid you mean:"
        return text + "\nCheck the spelling, or try fewer words."
    noun = "file" if page.total == 1 else "files"
    text = f"🔎 <b>{page.total_label}</b> {noun} for <b>{escape(query)}</b>"
    if shown:
        text += f" ({shown.split(' ', 1)[1].lower()} only)"
    if page.pages > 1:
        text += f"\nPage {page.page} of {page.pages}"
    return text


KIND_CODES = {"video": "v", "document": "d", "audio": "a"}
KIND_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
KIND_LABELS = {"video": "🎬 Videos", "document": "📄 Documents", "audio": "🎵 Audio"}


def deep_link(bot_username: str, payload: str) -> str:
    """`t.me/<bot>?start=<payload>`: opens the bot in private chat and sends `/start payload`."""
    return f"https://t.me/{bot_username}?start={payload}"


def file_payload(record_id: str) -> str:
    """The deep-link payload that delivers one file (Telegram allows [A-Za-z0-9_-], <= 64)."""
    return f"f_{record_id}"


def results_keyboard(
    page: SearchPage,
    token: str,
    encode: Encode,
    suggestions: Sequence[tuple[str, str]] = (),
    *,
    bot_username: str | None = None,
) -> InlineKeyboardMarkup | None:
    """One button per file, then type filters when results mix types, then Prev / x of y /
    Next; or "did you mean" buttons (text, token).

    With `bot_username` (in groups) file buttons are deep links that deliver in private chat.
    """
    code = KIND_CODES.get(page.kind or "", "")
    rows = [[_file_button(f, encode, bot_username)] for f in page.items]
    rows += [
        [InlineKeyboardButton(f"🔍 {text}", callback_data=encode("sg", suggestion))]
        for text, suggestion in suggestions
    ]
    if len(page.kinds) > 1:
        filters = [
            InlineKeyboardButton(
                ("✅ " if not code else "") + f"All {sum(page.kinds.values())}",
                callback_data=encode("pg", token, 1),
            )
        ]
        for kind, kind_code in KIND_CODES.items():
            if page.kinds.get(kind):
                mark = "✅ " if page.kind == kind else ""
                filters.append(
                    InlineKeyboardButton(
                        f"{mark}{KIND_LABELS[kind]} {page.kinds[kind]}",
                        callback_data=encode("pg", token, 1, kind_code),
                    )
                )
        rows.append(filters)
    if page.pages > 1:
        nav = []
        if page.page > 1:
            nav.append(
                InlineKeyboardButton(
                    "« Prev", callback_data=encode("pg", token, page.page - 1, code)
                )
            )
        nav.append(
            InlineKeyboardButton(f"{page.page} / {page.pages}", callback_data=encode("noop"))
        )
        if page.page < page.pages:
            nav.append(
                InlineKeyboardButton(
                    "Next »", callback_data=encode("pg", token, page.page + 1, code)
                )
            )
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def _file_button(
    record: FileRecord, encode: Encode, bot_username: str | None
) -> InlineKeyboardButton:
    if bot_username is not None:
        return InlineKeyboardButton(
            file_label(record), url=deep_link(bot_username, file_payload(record.id))
        )
    return InlineKeyboardButton(file_label(record), callback_data=encode("f", record.id))


# --- force-subscribe and premium ------------------------------------------------------------------

JOIN_FIRST = "Please join the channel(s) above first, then press the button again."
SUBSCRIBED = "✅ Thanks for joining! Here is your file."
ALL_SET = "✅ You have joined every required channel. Send me a title to search."
FILE_GONE = "This file is no longer available."


def join_text(*, request_mode: bool) -> str:
    how = (
        "Tap each channel below and send a join request (it counts as soon as it is sent)"
        if request_mode
        else "Tap each channel below and join it"
    )
    return f"🔒 <b>Join first</b>\n{how}, then press <b>Try again</b>."


def join_keyboard(channels: Sequence[ChannelLink], retry_data: str | None) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(f"📢 Join {_shorten(c.title, 48)}", url=c.url)] for c in channels]
    if retry_data is not None:
        rows.append([InlineKeyboardButton("🔄 Try again", callback_data=retry_data)])
    return InlineKeyboardMarkup(rows)


def premium_text(info: str) -> str:
    return (
        "⭐ <b>Premium only</b>\nThis file is available to premium users. "
        f"Admins can give you premium.\n\n{escape(info)}"
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- groups ---------------------------------------------------------------------------------------

AUTOFILTER_USAGE = "Use <code>/autofilter on</code> or <code>/autofilter off</code>."
AUTOFILTER_ADMINS_ONLY = "Only this group's admins can change that."


def autofilter_text(*, enabled: bool) -> str:
    if enabled:
        return "🔎 Auto-filter is <b>on</b>: I answer titles written in this group."
    return "🔕 Auto-filter is <b>off</b>: I stay quiet in this group."


# --- inline ---------------------------------------------------------------------------------------

INLINE_SWITCH_SEARCH = "Search in private chat"
INLINE_SWITCH_JOIN = "Join the channel first — tap here"
INLINE_SWITCH_PREMIUM = "Premium only — tap to learn more"
INLINE_SWITCH_BANNED = "You are banned from this bot"


def inline_description(record: FileRecord) -> str:
    return f"{human_size(record.file_size)} · {record.file_type}"


def inline_title(record: FileRecord) -> str:
    return _shorten(re.sub(r"[._]+", " ", strip_extension(record.file_name)).strip(), 120)


def protected_inline_text(record: FileRecord) -> str:
    """What an inline pick posts when files are protected: the name, and a button to the bot."""
    return f"📄 <b>{escape(record.file_name)}</b>\n{human_size(record.file_size)}"


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

"""Every user-visible text and keyboard; all user-provided text is HTML-escaped here."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from pyrogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.cache.enhanced_cache import CacheStats
from core.flags import FLAGS, Flag
from core.models import FileListing, FileRecord
from core.search.normalize import strip_extension
from core.traces import Trace
from core.utils.errors import ErrorCode, ErrorResponse
from core.utils.validators import MAX_CAPTION, utf16_length
from services.channel_index import IndexProgress
from services.channels import ChannelSummary
from services.search import SEND_ALL_FROM, SearchPage
from services.stats import BotStats
from services.subscription import ChannelLink

__all__ = [
    "admin_stats_text",
    "already_decided",
    "cache_stats_text",
    "delete_keyboard",
    "duration",
    "help_keyboard",
    "help_text",
    "job_footer",
    "start_keyboard",
    "start_text",
]

Encode = Callable[..., str]
_TAGS = re.compile(r"<[^>]+>")


def escape(text: str) -> str:
    """Text exactly as typed, inside the HTML the bot sends.

    Pyrogram's HTML parser unescapes twice (`HTMLParser` converts character references, then
    its `handle_data` calls `html.unescape` again), so text escaped once would show `&amp;` as
    `&` and `&lt;3` as `<3`. Escaped twice, it arrives as it was written.
    """
    return html.escape(html.escape(text, quote=False), quote=False)


def plain(markup: str) -> str:
    """What Telegram shows for `markup` (tags dropped, entities decoded as the parser does)."""
    return html.unescape(html.unescape(_TAGS.sub("", markup)))


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":  # noqa: PLR2004 - binary units
            return f"{value:.0f} {unit}" if unit in {"B", "KB", "MB"} else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


def _cut(text: str, over: int) -> str:
    keep = len(text) - over - 1
    return text[:keep].rstrip() + "…" if keep > 0 else ""


def render_caption(template: str, record: FileRecord) -> str:
    """The caption template with escaped values, shortened (the file's own caption first, then
    the name) until Telegram's 1,024-character limit holds."""
    name, caption = record.file_name, record.caption or ""
    while True:
        rendered = template.format(
            file_name=escape(name), file_size=human_size(record.file_size), caption=escape(caption)
        )
        over = utf16_length(plain(rendered)) - MAX_CAPTION
        if over <= 0 or not (caption or name):
            return rendered  # fits (a template too long by itself is the operator's to fix)
        if caption:
            caption = _cut(caption, over)
        else:
            name = _cut(name, over)


def error_text(response: ErrorResponse) -> str:
    """An error as a message: what went wrong, a retry hint, and the quotable reference."""
    parts = [escape(response.message)]
    if response.retry_after is not None:
        parts.append(f"Try again in {max(1, round(response.retry_after))} s.")
    return " ".join(parts) + f"\n<i>{escape(response.reference)}</i>"


def error_alert(response: ErrorResponse) -> str:
    """An error as a callback alert (plain text, at most 200 characters), reference kept."""
    hint = (
        f" Try again in {max(1, round(response.retry_after))} s."
        if response.retry_after is not None
        else ""
    )
    return _with_reference(response.message + hint, response.reference, 200)


def error_switch(response: ErrorResponse) -> tuple[str, str]:
    """An error as an inline answer's "switch to PM" button: its text (at most 64 characters,
    reference kept) and the `/start` parameter it opens the bot with."""
    text, parameter = _INLINE_REFUSALS.get(response.code, (response.message, "start"))
    return _with_reference(text, response.reference, 64), parameter


def _with_reference(text: str, reference: str, limit: int) -> str:
    suffix = f" ({reference})"
    return _shorten(text, limit - len(suffix)) + suffix


USER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does"),
    ("help", "How to search and what you can do"),
    ("myplan", "Your plan: free or premium, and until when"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Users, uptime and database"),
    ("cache", "Cache hit ratios and sizes"),
    ("user", "One user: activity, plan, ban"),
    ("users", "Every user, as a CSV file"),
    ("chats", "Every group, as a CSV file"),
    ("leave", "Leave a group or channel"),
    ("ban", "Ban a user, with a reason"),
    ("unban", "Lift a ban"),
    ("banned", "Banned users"),
    ("premium", "Premium plans: add, remove, list"),
    ("broadcast", "Send a message to every user or group"),
    ("flags", "Feature flags and their rollout"),
    ("flag", "Change a feature flag"),
    ("delete", "Delete the files matching a query"),
    ("deleteall", "Delete every file (asks for a word)"),
    ("link", "Share link to a file (reply to it)"),
    ("batch", "Share link to a range of channel posts"),
    ("links", "Your share links"),
    ("unlink", "Revoke a share link"),
    ("index", "Index a channel's existing posts"),
    ("jobs", "Recent indexing jobs"),
    ("cancel", "Cancel a job"),
    ("channels", "Indexed channels"),
    ("addchannel", "Index a channel's new posts"),
    ("removechannel", "Stop indexing a channel, delete its files"),
    ("addfile", "Index files you send me: on or off"),
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


DEBUG_COMMAND = ("debug_last", "The last requests' traces, or one by its ref")


def help_text(*, is_admin: bool, debug: bool = False) -> str:
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
        if debug:
            lines.append(f"/{DEBUG_COMMAND[0]} — {escape(DEBUG_COMMAND[1])}")
    return "\n".join(lines)


def help_keyboard(encode: Encode) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("« Back", callback_data=encode("start"))]])


def admin_stats_text(stats: BotStats) -> str:
    hours, rest = divmod(int(stats.uptime_seconds), 3600)
    minutes = rest // 60
    lines = ["<b>Bot statistics</b>"]
    if stats.files is not None:
        kinds = " · ".join(f"{n:,} {kind}s" for kind, n in stats.files_by_kind.items() if n)
        lines.append(f"Files: <b>{stats.files:,}</b>" + (f" ({kinds})" if kinds else ""))
    if stats.channels is not None:
        lines.append(f"Channels: {stats.channels}")
    tally = stats.tally
    if tally is not None:
        lines.append(
            f"Users: <b>{tally.total:,}</b> · active in 7 days {tally.active:,} · "
            f"blocked the bot {tally.blocked:,} · banned {tally.banned:,} · "
            f"premium {tally.premium:,}"
        )
    else:
        lines.append(f"Users: <b>{stats.users}</b>")
    if stats.groups is not None:
        lines.append(f"Groups: {stats.groups:,}")
    if stats.today:
        lines.append(
            f"Today: {stats.today.get('searches', 0):,} searches · "
            f"{stats.today.get('deliveries', 0):,} files sent"
        )
    if stats.data_bytes is not None and stats.index_bytes is not None:
        lines.append(
            f"MongoDB: {_bytes(stats.data_bytes)} data + {_bytes(stats.index_bytes)} indexes"
        )
    if stats.search_index_bytes is not None:
        lines.append(f"Search index: {_bytes(stats.search_index_bytes)} on disk")
    hit = [s for s in stats.caches.values() if s.hits + s.misses]
    if hit:
        lines.append("Caches: " + ", ".join(f"{escape(s.name)} {s.hit_ratio:.0%}" for s in hit))
    lines.append(f"Uptime: {hours} h {minutes} min")
    lines.append(f"Database: {escape(stats.database)}")
    if stats.version:
        lines.append(f"Version: {escape(stats.version)}")
    return "\n".join(lines)


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < KIB:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= KIB
    return f"{size:.1f} GB"


KIB = 1024


def cache_stats_text(stats: Mapping[str, CacheStats]) -> str:
    """One aligned row per cache; the name column is as wide as the longest name."""
    if not stats:
        return "No caches are in use yet."
    width = max(5, *(len(s.name) for s in stats.values()))
    sizes = [f"{s.size}/{s.maxsize}" for s in stats.values()]
    size_width = max(8, *(len(x) for x in sizes))
    rows: Sequence[str] = [
        f"{s.name:<{width}} {size:>{size_width}} {s.hit_ratio:>6.1%} "
        f"{s.hits:>7} {s.misses:>7} {s.evictions:>6} {s.expirations:>6}"
        for s, size in zip(stats.values(), sizes, strict=True)
    ]
    header = (
        f"{'cache':<{width}} {'size/max':>{size_width}} {'hits%':>6} {'hits':>7} {'misses':>7} "
        f"{'evict':>6} {'expire':>6}"
    )
    return "<b>Caches</b>\n<pre>" + escape("\n".join([header, *rows])) + "</pre>"


# --- search ---------------------------------------------------------------------------------------

STALE_SEARCH = "This search has expired. Please send it again."
BUTTON_LABEL_MAX = 60


def bad_query_text(reason: str) -> str:
    return f"I can't search for that: {escape(reason)}.\nSend a title, like <code>dark city</code>."


def file_label(record: FileRecord | FileListing) -> str:
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
    send_all: bool = True,
) -> InlineKeyboardMarkup | None:
    """One button per file, then type filters when results mix types, then Prev / x of y /
    Next; or "did you mean" buttons (text, token).

    With `bot_username` (in groups) file buttons are deep links that deliver in private chat.
    """
    code = KIND_CODES.get(page.kind or "", "")
    rows = [[_file_button(f, encode, bot_username)] for f in page.items]
    if send_all and len(page.items) >= SEND_ALL_FROM:
        label = f"📥 Send all {len(page.items)}"
        rows.append(
            [
                InlineKeyboardButton(
                    label, url=deep_link(bot_username, send_all_payload(token, page.page, code))
                )
                if bot_username is not None
                else InlineKeyboardButton(label, callback_data=encode("sa", token, page.page, code))
            ]
        )
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


SEND_ALL_PREFIX = "a_"


def send_all_payload(token: str, page: int, kind_code: str = "") -> str:
    """`/start a_<token>_<page>[_<type>]`: a group's "Send all", delivered in private chat."""
    return f"{SEND_ALL_PREFIX}{token}_{page}" + (f"_{kind_code}" if kind_code else "")


def _file_button(
    record: FileListing, encode: Encode, bot_username: str | None
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
    """Why a premium file was refused; `info` is the operator's PREMIUM_INFO (how to get it)."""
    text = "⭐ <b>Premium only</b>\nThis file is available to premium users only."
    return f"{text}\n\n{escape(info.strip())}" if info.strip() else text


UNKNOWN_COMMAND = "Unknown command — see /help"


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


_INLINE_REFUSALS = {
    ErrorCode.BANNED: (INLINE_SWITCH_BANNED, "start"),
    ErrorCode.SUBSCRIPTION_REQUIRED: (INLINE_SWITCH_JOIN, "subscribe"),
}


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


# --- the channel library: /index, /jobs, /cancel ---------------------------------------------

INDEX_USAGE = (
    "To index a channel's posts, forward me any post of it, send me a post's link "
    "(<code>https://t.me/name/123</code>, <code>https://t.me/c/1234567890/123</code>), or write "
    "<code>/index @channel first_id last_id</code>.\n"
    "A bot cannot see which post is a channel's last, so give it (its link, or the last id)."
)
INDEX_NOT_STARTED = "Not started."


def already_decided(decision: str) -> str:
    """The alert for a press on a prompt answered before (plain text: an alert)."""
    return f"This was already answered: {decision}. Send the command again to ask anew."


JOB_NOT_FOUND = "No job has that id. /jobs lists them."
CANCEL_USAGE = "Use <code>/cancel job_id</code> (the first characters are enough; see /jobs)."
_STATE_LABELS = {
    "pending": "⏳ queued",
    "running": "▶️ running",
    "paused": "⏸ paused",
    "done": "✅ done",
    "cancelled": "✖️ cancelled",
    "failed": "❌ failed",
}
_BAR = 12


def index_offer_text(title: str, chat_id: int, first: int, last: int, indexed: int) -> str:
    return (
        f"<b>Index {escape(title)}</b> (<code>{chat_id}</code>)\n"
        f"Posts {first:,}-{last:,} ({last - first + 1:,} posts) will be read; their documents, "
        "videos and audio become searchable. Files already indexed are skipped.\n"
        f"Files indexed from this channel so far: {indexed:,}."
    )


def index_offer_keyboard(
    chat_id: int, first: int, last: int, encode: Encode
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("▶️ Start", callback_data=encode("ix", chat_id, first, last)),
                InlineKeyboardButton("✖️ Cancel", callback_data=encode("ixn")),
            ]
        ]
    )


def short_job_id(job_id: str) -> str:
    return job_id[:8]


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:  # noqa: PLR2004
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def index_counts(counters: Mapping[str, int]) -> str:
    return (
        f"indexed {counters.get('indexed', 0):,} · duplicates {counters.get('duplicates', 0):,}"
        f" · not media {counters.get('not_media', 0):,} · missing {counters.get('missing', 0):,}"
        f" · errors {counters.get('errors', 0):,}"
    )


def index_progress_text(progress: IndexProgress) -> str:
    filled = round(progress.fraction * _BAR)
    lines = [
        f"<b>Indexing {escape(progress.title)}</b>",
        f"{'█' * filled}{'░' * (_BAR - filled)} {progress.fraction * 100:.0f} %",
        (
            f"Posts {progress.first:,}-{progress.last:,}: {progress.processed:,} of "
            f"{progress.total:,} read"
        ),
    ]
    if progress.per_second > 0:
        rate = f"{progress.per_second:,.0f} posts/s"
        if progress.eta_seconds is not None and progress.state == "running":
            rate += f" · about {duration(progress.eta_seconds)} left"
        lines.append(rate)
    lines.append(index_counts(progress.counters).capitalize())
    if progress.waiting > 0:
        lines.append(
            f"⏳ Telegram asked me to wait {duration(progress.waiting)}; I continue afterwards."
        )
    lines += job_footer(_STATE_LABELS, progress.state, progress.reason, progress.job_id)
    return "\n".join(lines)


def job_footer(labels: Mapping[str, str], state: str, reason: str | None, job_id: str) -> list[str]:
    """The last lines of a job's progress message: its state (and why) and its id."""
    shown = labels.get(state, state)
    if reason:
        shown += f": {escape(reason)}"
    return [f"State: {shown}", f"Job <code>{short_job_id(job_id)}</code>"]


def index_progress_keyboard(progress: IndexProgress, encode: Encode) -> InlineKeyboardMarkup:
    return job_keyboard(progress.job_id, progress.state, encode)


def delete_keyboard(token: str, count: int, encode: Encode) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"🗑 Delete {count:,} files", callback_data=encode("dl", token)
                ),
                InlineKeyboardButton("Keep", callback_data=encode("dln")),
            ]
        ]
    )


def job_keyboard(job_id: str, state: str, encode: Encode) -> InlineKeyboardMarkup:
    """Pause or Resume, and Cancel, while the job is not finished; then none (an empty
    keyboard, which removes the buttons: an edit without one may keep them)."""
    if state in ("pending", "running"):
        toggle = InlineKeyboardButton("⏸ Pause", callback_data=encode("jb", "p", job_id))
    elif state == "paused":
        toggle = InlineKeyboardButton("▶️ Resume", callback_data=encode("jb", "r", job_id))
    else:
        return InlineKeyboardMarkup([])
    cancel = InlineKeyboardButton("✖️ Cancel", callback_data=encode("jb", "c", job_id))
    return InlineKeyboardMarkup([[toggle, cancel]])


def index_queued_text(title: str, job_id: str) -> str:
    return (
        f"<b>Indexing {escape(title)}</b>\nState: {_STATE_LABELS['pending']}\n"
        f"Job <code>{short_job_id(job_id)}</code>"
    )


def index_exists_text(title: str, job_id: str, state: str) -> str:
    return (
        f"{escape(title)} already has an unfinished job (<code>{short_job_id(job_id)}</code>, "
        f"{_STATE_LABELS.get(state, state)}): resume or cancel it from /jobs first."
    )


def jobs_text(jobs: Sequence[IndexProgress]) -> str:
    if not jobs:
        return "No jobs yet. Start one with /index."
    lines = ["<b>Recent jobs</b>"]
    for job in jobs:
        state = _STATE_LABELS.get(job.state, job.state)
        if job.reason:
            state += f" ({escape(job.reason)})"
        lines.append(
            f"\n<code>{short_job_id(job.job_id)}</code> · {escape(job.title)} · {state}\n"
            f"posts {job.processed:,}/{job.total:,} · {index_counts(job.counters)}"
        )
    lines.append("\n<code>/cancel job_id</code> cancels one.")
    return "\n".join(lines)


def job_changed_text(job_id: str, state: str) -> str:
    return f"Job <code>{short_job_id(job_id)}</code>: {_STATE_LABELS.get(state, state)}."


# --- the channel library: /channels, /addchannel, /removechannel, /addfile -------------------

ADDCHANNEL_USAGE = "Use <code>/addchannel @channel</code> (or its -100… id, or a post link)."
REMOVECHANNEL_USAGE = "Use <code>/removechannel @channel</code> (or its -100… id)."
ADDFILE_USAGE = "Use <code>/addfile on</code> or <code>/addfile off</code>."
ADDFILE_HINT = (
    "I only index files an admin sends me when <code>/addfile on</code> is set, or when they are "
    "forwarded from an indexed channel."
)
REMOVE_KEPT = "Kept: nothing was removed."


def channels_text(channels: Sequence[ChannelSummary]) -> str:
    if not channels:
        return (
            "No channel indexed yet. Add one with <code>/addchannel @channel</code>; until then "
            "every channel the bot administers is indexed."
        )
    lines = ["<b>Indexed channels</b>"]
    for c in channels:
        name = f"@{c.username}" if c.username else str(c.chat_id or "")
        last = f" · last post {c.last_post:,}" if c.last_post else ""
        lines.append(
            f"\n<b>{escape(c.title)}</b> ({escape(name)}) · {c.files:,} files{last} · "
            f"{escape(c.source)}"
        )
    return "\n".join(lines)


def channel_added_text(title: str) -> str:
    return (
        f"✅ New posts of <b>{escape(title)}</b> are indexed from now on.\n"
        "To index the posts it already has, forward me its newest post (or send its link)."
    )


def remove_channel_text(title: str, files: int) -> str:
    return (
        f"Stop indexing <b>{escape(title)}</b> and delete its {files:,} files from the search? "
        "Files already sent to users stay with them."
    )


def remove_channel_keyboard(chat_id: int, files: int, encode: Encode) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"🗑 Remove and delete {files:,} files", callback_data=encode("rmc", chat_id)
                ),
                InlineKeyboardButton("Keep", callback_data=encode("rmn")),
            ]
        ]
    )


def channel_removed_text(title: str, deleted: int) -> str:
    return f"🗑 {escape(title)} is no longer indexed; {deleted:,} files were deleted."


def addfile_text(*, on: bool) -> str:
    if on:
        return "✅ Files you send me in this chat are indexed (until <code>/addfile off</code>)."
    return "Files you send me are no longer indexed (forwards from indexed channels still are)."


def file_added_text(name: str, *, new: bool) -> str:
    if new:
        return f"✅ Indexed: {escape(name)}"
    return f"Already indexed: {escape(name)}"


# --- /debug_last ----------------------------------------------------------------------------------


def _when(trace: Trace) -> str:
    return datetime.fromtimestamp(trace.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _trace_line(trace: Trace) -> str:
    code = f" {trace.code}" if trace.code else ""
    return (
        f"<code>{escape(trace.correlation_id)}</code> {escape(trace.handler)} · "
        f"{escape(trace.outcome)}{escape(code)} · {trace.duration_ms:.1f} ms"
    )


def traces_text(traces: Sequence[Trace]) -> str:
    if not traces:
        return "No request has been traced yet."
    lines = [f"<b>The last {len(traces)} requests</b>, newest first"]
    lines += [_trace_line(t) for t in traces]
    lines.append("\n<code>/debug_last &lt;ref&gt;</code> shows one in full.")
    return "\n".join(lines)


def trace_text(trace: Trace) -> str:
    """One trace: ids, names, codes and durations only (no message text, no secret)."""
    lines = [
        (
            f"<b>ref {escape(trace.correlation_id)}</b> · {escape(trace.handler)} · "
            f"{escape(trace.update)}"
        ),
        f"{_when(trace)} · {escape(trace.outcome)}"
        + (f" ({escape(trace.code)})" if trace.code else "")
        + f" · {trace.duration_ms:.1f} ms",
        f"user {trace.user_id or '-'} · chat {trace.chat_id or '-'}",
    ]
    for call in trace.calls:
        error = f" ✗ {escape(call.error)}" if call.error else ""
        lines.append(f"{call.kind:<8} {escape(call.name)} {call.ms:.1f} ms{error}")
    if trace.dropped_calls:
        lines.append(f"… and {trace.dropped_calls} more calls")
    return "\n".join(lines)


def trace_not_found_text(ref: str, kept: int) -> str:
    return (
        f"No trace {escape(ref)} among the last {kept} requests (only the newest are kept: "
        "TRACE_STORE_SIZE)."
    )


# --- feature flags --------------------------------------------------------------------------------

FLAG_USAGE = (
    "Usage: <code>/flag &lt;name&gt; &lt;value&gt;</code>, the value one of: <code>on</code>, "
    "<code>off</code>, <code>10%</code> (a stable share of users), "
    "<code>groups=admins,premium,free</code>, <code>chats=private,group,inline</code>, "
    "<code>exclude=-1001234567890</code>, <code>include=-1001234567890</code>.\n"
    "Example: <code>/flag send_all 25%</code> · the flags: /flags"
)


def flags_text(flags: Sequence[Flag]) -> str:
    lines = ["<b>Feature flags</b>"]
    for flag in flags:
        lines.append(f"<code>{flag.name}</code> — {escape(flag.describe())}")
        lines.append(f"   {escape(FLAGS[flag.name])}")
    lines.append("\nChange one with <code>/flag &lt;name&gt; on|off|10%</code>.")
    return "\n".join(lines)

"""Texts and keyboards of `/broadcast`: the usage, the confirmation, the progress message and
the summary; all user text is HTML-escaped here."""

from __future__ import annotations

from pyrogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbacks import Encode
from handlers.views import duration, job_footer
from services.broadcast import BroadcastProgress

__all__ = [
    "BROADCAST_DECLINED",
    "BROADCAST_USAGE",
    "broadcast_offer_keyboard",
    "broadcast_offer_text",
    "broadcast_progress_keyboard",
    "broadcast_progress_text",
    "broadcast_summary_text",
]

BROADCAST_USAGE = (
    "Reply to a message with <code>/broadcast users</code>, <code>/broadcast groups</code> or "
    "<code>/broadcast all</code> (add <code>pin</code> to pin it) to copy it to every user "
    "and/or group; or write <code>/broadcast users [pin] &lt;text&gt;</code> for a plain "
    "text.\n"
    "Users who blocked the bot and banned users are skipped."
)
BROADCAST_DECLINED = "Broadcast not sent."
_AUDIENCE = {"users": "users", "groups": "groups", "all": "users and groups"}
_STATES = {
    "pending": "⏳ queued",
    "running": "▶️ sending",
    "paused": "⏸ paused",
    "done": "✅ done",
    "cancelled": "✖️ cancelled",
    "failed": "❌ failed",
}
_BAR = 12


def broadcast_offer_text(audience: str, recipients: int, *, pin: bool) -> str:
    pinned = " and pin it" if pin else ""
    return (
        f"📣 Send this message to <b>{recipients:,}</b> {_AUDIENCE[audience]}{pinned}?\n"
        "About 29 messages a second; each recipient gets it once."
    )


def broadcast_offer_keyboard(fields: tuple[str, ...], encode: Encode) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📣 Send", callback_data=encode("bc", *fields)),
                InlineKeyboardButton("✖️ Cancel", callback_data=encode("bcn")),
            ]
        ]
    )


def _counts(progress: BroadcastProgress) -> str:
    c = progress.counters
    text = (
        f"Sent {c.get('sent', 0):,} · failed {c.get('failed', 0):,} · "
        f"blocked {c.get('blocked', 0):,} · remaining {progress.remaining:,}"
    )
    if c.get("unknown"):
        text += f" · unknown {c['unknown']:,} (in flight when the bot stopped; not resent)"
    return text


def broadcast_progress_text(progress: BroadcastProgress) -> str:
    filled = round(progress.fraction * _BAR)
    lines = [
        f"<b>📣 Broadcast to {_AUDIENCE.get(progress.audience, progress.audience)}</b>",
        f"{'█' * filled}{'░' * (_BAR - filled)} {progress.fraction * 100:.0f} %",
        _counts(progress),
    ]
    if progress.per_second > 0 and progress.state == "running":
        rate = f"{progress.per_second:,.1f} messages/s"
        if progress.eta_seconds is not None:
            rate += f" · about {duration(progress.eta_seconds)} left"
        lines.append(rate)
    if progress.waiting > 0:
        lines.append(f"⏳ Telegram asked me to wait {duration(progress.waiting)}.")
    lines += job_footer(_STATES, progress.state, progress.reason, progress.job_id)
    return "\n".join(lines)


def broadcast_progress_keyboard(
    progress: BroadcastProgress, encode: Encode
) -> InlineKeyboardMarkup:
    if progress.state in ("pending", "running", "paused"):
        cancel = InlineKeyboardButton("✖️ Cancel", callback_data=encode("bj", progress.job_id))
        return InlineKeyboardMarkup([[cancel]])
    return InlineKeyboardMarkup([])


def broadcast_summary_text(progress: BroadcastProgress) -> str:
    return f"📣 Broadcast finished: {progress.total:,} recipients.\n{_counts(progress)}"

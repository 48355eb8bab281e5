"""Texts for share links (`/link`, `/links`, `/unlink`); all user text is HTML-escaped here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from core.models import LinkRecord
from handlers.member_views import when
from handlers.views import escape
from services.links import LINK_PREFIX

__all__ = [
    "BATCH_USAGE",
    "LINK_USAGE",
    "NOT_INDEXED",
    "UNLINK_USAGE",
    "batch_created_text",
    "batch_started_text",
    "escape",
    "link_created_text",
    "link_url",
    "links_text",
]

LINK_USAGE = (
    "Reply <code>/link</code> to a file (one I sent you, from a search, or one you forwarded) "
    "to get a share link to it.\n"
    "Options: <code>premium</code> or <code>free</code> (who may open it, whatever the file's "
    "own setting), <code>expires=7d</code>, <code>uses=100</code>.\n"
    "Example: <code>/link free expires=2d uses=50</code>"
)
UNLINK_USAGE = "Usage: <code>/unlink &lt;code&gt;</code> (the codes are in /links)"
NOT_INDEXED = "That file is not indexed: links point at indexed files only."


def link_url(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={LINK_PREFIX}{code}"


def _terms(link: LinkRecord) -> str:
    access = {"premium": "premium users only", "free": "free for everyone"}.get(
        link.premium or "", "as the file (global setting)"
    )
    expires = f"expires {when(link.expires_at)}" if link.expires_at else "never expires"
    uses = f"{link.uses}/{link.max_uses} uses" if link.max_uses else f"{link.uses} uses"
    return f"{access} · {expires} · {uses}"


def link_created_text(link: LinkRecord, file_name: str, bot_username: str) -> str:
    return (
        f"🔗 Link to <b>{escape(file_name)}</b>\n"
        f"{link_url(bot_username, link.code)}\n"
        f"{_terms(link)}\n"
        f"Revoke it with <code>/unlink {link.code}</code>"
    )


def links_text(
    links: Sequence[LinkRecord], names: Mapping[str, str], bot_username: str, now: datetime
) -> str:
    if not links:
        return "You have made no links yet. Reply /link to a file to make one."
    lines = [f"<b>Your links</b> ({len(links)}, newest first)"]
    for link in links:
        if link.chat_id is not None:
            name = f"posts {link.first_message_id}-{link.last_message_id} of {link.chat_id}"
        else:
            name = next((names[i] for i in link.file_ids if i in names), "file deleted")
        state = "" if link.usable(now) else " · ⛔️ no longer usable"
        lines.append(
            f"• <code>{link.code}</code> — {escape(name)} · {_terms(link)}{state}\n"
            f"  {link_url(bot_username, link.code)}"
        )
    return "\n".join(lines)


BATCH_USAGE = (
    "Usage: <code>/batch &lt;first post link&gt; &lt;last post link&gt; [options]</code>: one "
    "link to every indexed file posted between the two (same channel), delivered in order.\n"
    "Options as for /link: <code>premium</code> or <code>free</code>, <code>expires=7d</code>, "
    "<code>uses=100</code>.\n"
    "Example: <code>/batch https://t.me/mychannel/120 https://t.me/mychannel/180 free</code>"
)


def batch_created_text(link: LinkRecord, title: str, files: int, bot_username: str) -> str:
    return (
        f"📦 Link to <b>{files:,} files</b> of {escape(title)} "
        f"(posts {link.first_message_id:,}-{link.last_message_id:,})\n"
        f"{link_url(bot_username, link.code)}\n"
        f"{_terms(link)}\n"
        f"Revoke it with <code>/unlink {link.code}</code>"
    )


def batch_started_text(files: int) -> str:
    return f"📦 Sending you {files:,} files, about one a second."

"""Delivery: the one path that hands a file out (access policy first, then what to send)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape

from core.models import FileRecord
from core.utils.errors import NotFoundError
from core.utils.guards import Gate, Guards
from core.utils.validators import MAX_CAPTION, utf16_length
from repositories.files import FileRepository

__all__ = ["Delivery", "DeliveryService", "human_size", "render_caption"]

_TAGS = re.compile(r"<[^>]+>")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":  # noqa: PLR2004 - binary units
            return f"{value:.0f} {unit}" if unit in {"B", "KB", "MB"} else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


@dataclass(frozen=True, slots=True)
class Delivery:
    """What to send: a cached Telegram file and its (HTML) caption."""

    file: FileRecord
    caption: str
    protect_content: bool = False


def _shorten(text: str, over: int) -> str:
    keep = len(text) - over - 1
    return text[:keep].rstrip() + "…" if keep > 0 else ""


def render_caption(template: str, record: FileRecord) -> str:
    """The caption template with HTML-escaped values, shortened (the file's own caption first,
    then the name) until Telegram's 1,024-character limit holds."""
    name, caption = record.file_name, record.caption or ""
    while True:
        rendered = template.format(
            file_name=escape(name), file_size=human_size(record.file_size), caption=escape(caption)
        )
        over = utf16_length(unescape(_TAGS.sub("", rendered))) - MAX_CAPTION
        if over <= 0 or not (caption or name):
            return rendered  # fits (a template too long by itself is the operator's to fix)
        if caption:
            caption = _shorten(caption, over)
        else:
            name = _shorten(name, over)


class DeliveryService:
    def __init__(
        self,
        files: FileRepository,
        guards: Guards,
        *,
        caption_template: str = "<b>{file_name}</b>\n{file_size}",
        protect_content: bool = False,
    ) -> None:
        self._files = files
        self._guards = guards
        self._template = caption_template
        self._protect = protect_content

    async def prepare(self, user_id: int, file_unique_id: str) -> Delivery:
        """Check access for this user and file; raise the refusal as an `AppError`."""
        record = await self._files.get(file_unique_id)
        if record is None:
            raise NotFoundError("file")
        file_gate = Gate(record.premium) if record.premium in {"free", "premium"} else None
        decision = await self._guards.check(user_id, file_gate=file_gate)
        error = decision.error()
        if error is not None:
            raise error
        return Delivery(record, render_caption(self._template, record), self._protect)

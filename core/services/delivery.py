"""Delivery: the one path that hands a file out (access policy first, then what to send)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from core.models import FileRecord
from core.utils.errors import NotFoundError
from core.utils.guards import Gate, Guards
from repositories.files import FileRepository

__all__ = ["Delivery", "DeliveryService", "human_size"]


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


class DeliveryService:
    def __init__(self, files: FileRepository, guards: Guards) -> None:
        self._files = files
        self._guards = guards

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
        caption = f"<b>{escape(record.file_name)}</b>\n{human_size(record.file_size)}"
        return Delivery(record, caption)

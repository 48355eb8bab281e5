"""Auto-delete: delivered files are recorded with a due time and removed by one sweeper.

Nothing sleeps in a handler: delivery only records `(chat, message, due_at)` in `deletions`. The
sweeper wakes on the app's clock, deletes what is due, tells each user once per sweep, and the
records survive a restart, so a deletion due while the bot was down runs when it is back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from core.clock import Clock
from core.logging import get_logger
from services.ports import DeletionRepository

__all__ = ["AutoDeleteService"]

log = get_logger(__name__)

DeleteMessage = Callable[[int, int], Awaitable[bool]]
"""Deletes one message (chat id, message id); False if Telegram refused for good."""
Notify = Callable[[int, int], Awaitable[None]]
"""Tells a chat how many of its files were just deleted."""

SWEEP_BATCH = 200


class AutoDeleteService:
    def __init__(
        self,
        deletions: DeletionRepository,
        clock: Clock,
        *,
        minutes: int,
    ) -> None:
        self._deletions = deletions
        self._clock = clock
        self.minutes = minutes

    @property
    def enabled(self) -> bool:
        return self.minutes > 0

    async def schedule(self, chat_id: int, message_id: int) -> None:
        if self.enabled:
            due = self._clock.now() + timedelta(minutes=self.minutes)
            await self._deletions.schedule(chat_id, message_id, due)

    async def schedule_in(self, chat_id: int, message_id: int, minutes: int) -> None:
        """Delete a message after `minutes` whatever AUTO_DELETE_MINUTES says, silently (a
        group's results, by its own setting)."""
        due = self._clock.now() + timedelta(minutes=minutes)
        await self._deletions.schedule(chat_id, message_id, due, notify=False)

    async def sweep(self, delete: DeleteMessage, notify: Notify) -> int:
        """Delete every due message (in batches); returns how many records were settled."""
        settled = 0
        while True:
            due = await self._deletions.due(self._clock.now(), SWEEP_BATCH)
            if not due:
                break
            per_chat: dict[int, int] = {}
            for record in due:
                if await delete(record.chat_id, record.message_id) and record.notify:
                    per_chat[record.chat_id] = per_chat.get(record.chat_id, 0) + 1
            await self._deletions.remove([r.id for r in due])
            settled += len(due)
            for chat_id, count in per_chat.items():
                await notify(chat_id, count)
        if settled:
            log.info("auto_delete_sweep", settled=settled)
        return settled

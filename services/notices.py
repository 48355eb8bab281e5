"""Notices: short messages that belong to an action but may arrive a little after it.

The auto-delete notice after a delivered file is one: when Telegram answers it with a FloodWait,
the file has already arrived, so the request must not turn into an error. The notice is sent in
the background instead, waiting out the FloodWait on the app's clock and retrying; a recipient
who blocked the bot (or deleted the account) is marked as such and not retried. Pyrogram stays
out of this module: failures are classified by `ErrorFactory`, like everywhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.clock import Clock
from core.logging import get_logger
from core.telegram.errors import error_response
from core.utils.activity import working
from core.utils.errors import ErrorCode
from services.users import UserService

__all__ = ["GONE_CODES", "Notices", "SendText"]

SendText = Callable[[int, str], Awaitable[object]]
"""Sends `text` to chat `chat_id` (raising what Telegram raised)."""

GONE_CODES = frozenset({ErrorCode.TELEGRAM_USER_BLOCKED, ErrorCode.TELEGRAM_USER_DEACTIVATED})
MAX_WAIT = 600.0  # a FloodWait longer than this drops the notice (logged)

log = get_logger(__name__)


class Notices:
    def __init__(
        self,
        send: SendText,
        users: UserService,
        clock: Clock,
        *,
        attempts: int = 3,
    ) -> None:
        self._send = send
        self._users = users
        self._clock = clock
        self._attempts = attempts
        self._tasks: set[asyncio.Task[bool]] = set()

    def post(self, chat_id: int, text: str) -> None:
        """Send `text` in the background; returns at once."""
        task = asyncio.create_task(self.deliver(chat_id, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, chat_id: int, text: str) -> bool:
        """Send now, waiting out FloodWaits; True once sent."""
        for attempt in range(1, self._attempts + 1):
            with working():
                try:
                    await self._send(chat_id, text)
                except Exception as exc:  # noqa: BLE001 - classified below, never raised
                    response = error_response(exc)
                else:
                    return True
                if response.code in GONE_CODES:
                    await self._users.mark_blocked(chat_id)
                    log.info("notice_recipient_gone", chat_id=chat_id, code=response.code.value)
                    return False
            wait = response.retry_after
            if wait is None or wait > MAX_WAIT or attempt == self._attempts:
                log.warning(
                    "notice_not_sent", chat_id=chat_id, code=response.code.value, attempt=attempt
                )
                return False
            log.info("notice_postponed", chat_id=chat_id, seconds=wait, attempt=attempt)
            await self._clock.sleep(wait)  # not counted as activity: nothing runs meanwhile
        return False  # pragma: no cover - the loop returns on its last attempt

    async def close(self) -> None:
        """Cancel notices still waiting (at shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

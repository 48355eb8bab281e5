"""The operator's log channel (`LOG_CHANNEL`): what happened, in a Telegram channel.

Posts go out in the background, in order, through one sender task: a FloodWait postpones them,
and an unreachable channel (the bot is not an admin there, a wrong id) is logged once — then
once more when it works again — and never stops or slows the bot. Without `LOG_CHANNEL` every
post is dropped at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.clock import Clock
from core.logging import get_logger
from core.telegram.errors import error_response
from core.utils.activity import Held, hold, working

__all__ = ["LogChannel"]

log = get_logger(__name__)

SendText = Callable[[int, str], Awaitable[object]]
QUEUE_LIMIT = 1_000  # posts waiting beyond this are dropped (counted in the log)
MAX_WAIT = 300.0


class LogChannel:
    def __init__(
        self,
        chat_id: int | None,
        send: SendText,
        clock: Clock,
    ) -> None:
        self.chat_id = chat_id
        self._send = send
        self._clock = clock
        self._queue: asyncio.Queue[tuple[str, Held]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._unreachable = False
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    def post(self, text: str) -> None:
        """Queue `text` for the channel; returns at once."""
        if self.chat_id is None:
            return
        if self._queue.qsize() >= QUEUE_LIMIT:
            self.dropped += 1
            return
        self._queue.put_nowait((text, hold()))  # busy until sent or given up
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def flush(self) -> None:
        """Send what is queued now (at shutdown: the "stopping" post), then stop."""
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._queue.join()), timeout=5)
            except TimeoutError:
                log.info("log_channel_flush_timeout", pending=self._queue.qsize())
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            _text, held = self._queue.get_nowait()
            self._queue.task_done()
            held.release()

    async def _drain(self) -> None:
        while not self._queue.empty():
            text, held = self._queue.get_nowait()
            try:
                with working():
                    await self._deliver(text)
            finally:
                self._queue.task_done()
                held.release()

    async def _deliver(self, text: str) -> None:
        chat_id = self.chat_id
        if chat_id is None:  # pragma: no cover - `post` checks
            return
        for _attempt in range(3):
            try:
                await self._send(chat_id, text)
            except Exception as exc:  # noqa: BLE001 - classified below, never raised
                response = error_response(exc)
                wait = response.retry_after
                if wait is not None and wait <= MAX_WAIT:
                    await self._clock.sleep(wait)
                    continue
                if not self._unreachable:
                    self._unreachable = True
                    log.warning(
                        "log_channel_unreachable",
                        chat_id=chat_id,
                        code=response.code.value,
                        advice="make the bot an admin of LOG_CHANNEL, or unset it",
                    )
                return
            if self._unreachable:
                self._unreachable = False
                log.info("log_channel_reachable", chat_id=chat_id)
            return

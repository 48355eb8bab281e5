"""The one way out for bulk Telegram work: token buckets, FloodWait backoff, per-recipient results.

Broadcasts, indexing and progress edits call Telegram through `TelegramAPI.call`. It paces every
request with token buckets (global, per private chat, per group), waits out `FloodWait` for its
`.value` seconds plus jitter (Pyrogram's own auto-sleep only covers waits under its
`sleep_threshold`; longer ones are raised and land here), and turns terminal per-recipient errors
into `SendResult` values so a broadcast records them and goes on.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cachetools import LRUCache
from pyrogram.errors import FloodWait, RPCError

from core.logging import get_logger
from core.telegram.errors import info_for
from core.utils.errors import ErrorCode, FloodWaitError
from core.utils.ratelimit import TokenBucket

__all__ = ["RateLimits", "SendResult", "TelegramAPI", "TokenBucket", "WrapperStats"]

T = TypeVar("T")
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Telegram's documented limits for bots, with a little headroom on the global one."""

    global_per_second: float = 25.0
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    max_retries: int = 5
    max_total_wait: float = 600.0
    jitter: float = 0.1  # up to 10% of the wait is added, so resumed senders do not stampede
    global_burst: float | None = (
        None  # requests sent at once after a pause (None: a 5th of a second's)
    )


@dataclass(frozen=True, slots=True)
class SendResult(Generic[T]):
    """The outcome of one call: the value, or the terminal error code it ended with."""

    ok: bool
    value: T | None = None
    error: ErrorCode | None = None
    telegram_id: str | None = None
    attempts: int = 1
    waited: float = 0.0


@dataclass
class WrapperStats:
    calls: int = 0
    flood_waits: int = 0
    flood_wait_seconds: float = 0.0
    paced_seconds: float = 0.0
    terminal_errors: dict[str, int] = field(default_factory=dict)


class TelegramAPI:
    """Paces and retries Telegram calls; see the module docstring."""

    def __init__(
        self,
        *,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.limits = limits or RateLimits()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        burst = self.limits.global_burst or max(1.0, self.limits.global_per_second / 5)
        self._global = TokenBucket(self.limits.global_per_second, burst, clock)
        self._chats: LRUCache[int, TokenBucket] = LRUCache(maxsize=50_000)
        self.stats = WrapperStats()

    def _chat_bucket(self, chat_id: int) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if chat_id > 0:
                bucket = TokenBucket(self.limits.private_per_second, 1, self._clock)
            else:
                bucket = TokenBucket(self.limits.group_per_minute / 60, 1, self._clock)
            self._chats[chat_id] = bucket
        return bucket

    async def _pace(self, chat_id: int | None) -> None:
        wait = self._global.reserve()
        if chat_id is not None:
            wait = max(wait, self._chat_bucket(chat_id).reserve())
        if wait > 0:
            self.stats.paced_seconds += wait
            await self._sleep(wait)

    async def call(
        self, method: str, chat_id: int | None, request: Callable[[], Awaitable[T]]
    ) -> SendResult[T]:
        """Run `request` paced for `chat_id`, retrying FloodWaits within the limits.

        Raises `FloodWaitError` when the retries or the total wait would be exceeded; returns a
        failed `SendResult` for terminal per-recipient errors; other errors propagate.
        """
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            await self._pace(chat_id)
            self.stats.calls += 1
            try:
                value = await request()
            except FloodWait as exc:
                seconds = float(exc.value) if isinstance(exc.value, int | float) else 1.0
                self.stats.flood_waits += 1
                if (
                    attempt > self.limits.max_retries
                    or waited + seconds > self.limits.max_total_wait
                ):
                    log.warning(
                        "flood_wait_gave_up", method=method, seconds=seconds, attempts=attempt
                    )
                    raise FloodWaitError(seconds, method) from exc
                delay = seconds * (1 + self._rng.uniform(0, self.limits.jitter))
                log.info("flood_wait", method=method, seconds=seconds, attempt=attempt)
                self.stats.flood_wait_seconds += delay
                waited += delay
                await self._sleep(delay)
            except RPCError as exc:
                info = info_for(exc)
                if info is None or not info.terminal:
                    raise
                code = info.code
                self.stats.terminal_errors[code.value] = (
                    self.stats.terminal_errors.get(code.value, 0) + 1
                )
                log.info("telegram_terminal_error", method=method, code=code.value, chat_id=chat_id)
                return SendResult(
                    ok=False,
                    error=code,
                    telegram_id=getattr(exc, "ID", None),
                    attempts=attempt,
                    waited=waited,
                )
            else:
                return SendResult(ok=True, value=value, attempts=attempt, waited=waited)

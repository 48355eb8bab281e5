"""A virtual clock: time moves only when a test (or `simulate`) advances it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["VirtualClock"]

DEFAULT_START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class VirtualClock:
    """Implements `core.clock.Clock`; `advance()` wakes every sleeper whose time has come.

    The one fake clock of the test suite. In the harness, time moves when a test advances it.
    With `autojump=True` (unit tests of code that only sleeps, with nobody to advance time),
    `sleep(s)` moves the clock by `s` itself and returns at once. Either way the last
    sleeps are kept in `sleeps`, for tests that check how long something waited.
    """

    def __init__(self, start: datetime = DEFAULT_START, *, autojump: bool = False) -> None:
        self._start = start
        self._elapsed = 0.0
        # (deadline, order, future, the task that sleeps)
        self._sleepers: list[tuple[float, int, asyncio.Future[None], asyncio.Task[Any] | None]] = []
        self._seq = itertools.count()
        self._autojump = autojump
        self.sleeps: deque[float] = deque(maxlen=1000)

    def __call__(self) -> float:
        """The monotonic reading, for code that takes a `timer` callable (caches, buckets)."""
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def timestamp(self) -> int:
        """Unix time, as Telegram dates are."""
        return int(self.now().timestamp())

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self._autojump:
            self.advance(seconds)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._elapsed + seconds, next(self._seq), future, asyncio.current_task())
        heapq.heappush(self._sleepers, entry)
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward and wake (in deadline order) every sleeper now due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._elapsed += seconds
        while self._sleepers and self._sleepers[0][0] <= self._elapsed:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)

    def next_deadline(self, *, tasks: Collection[asyncio.Task[Any]] | None = None) -> float | None:
        """When the earliest pending sleeper is due (monotonic seconds), if any; `tasks`: only
        among the sleeps of these tasks."""
        pending = [
            deadline
            for deadline, _, future, task in self._sleepers
            if not future.done() and (tasks is None or task in tasks)
        ]
        return min(pending) if pending else None

    async def asleep(self, task: asyncio.Task[Any], *, timeout: float = 60.0) -> float:
        """Wait until `task` sleeps on this clock and return when it is due (monotonic
        seconds): a condition, not a fixed real-time pause, so a test that advances time to
        wake it never advances too early on a busy machine. Raises `TimeoutError` after
        `timeout` real seconds, or `RuntimeError` if the task ends without sleeping."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        while (deadline := self.next_deadline(tasks=[task])) is None:
            if task.done():
                raise RuntimeError(f"{task.get_name()} ended without sleeping on the clock")
            if loop.time() > give_up:
                raise TimeoutError(f"{task.get_name()} did not sleep within {timeout:g} s")
            await asyncio.sleep(0.001)  # database calls run in Motor's threads
        return deadline

    @property
    def sleepers(self) -> int:
        return sum(1 for entry in self._sleepers if not entry[2].done())

"""Counts background work in progress, so the test harness knows when the bot is idle."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import TracebackType
from typing import Any

__all__ = ["Activity"]


class Activity:
    """`with activity:` around a unit of background work (a sweep, a job step).

    It also knows which tasks are doing that work, so the test harness can tell a sleep that
    is part of the work (rate pacing) from an unrelated periodic loop that happens to sleep.
    """

    def __init__(self) -> None:
        self._busy = 0
        self._tasks: Counter[asyncio.Task[Any]] = Counter()

    @property
    def idle(self) -> bool:
        return self._busy == 0

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks inside `with activity:` right now."""
        return frozenset(self._tasks)

    def hold(self) -> None:
        """Work was handed to a task that has not started it yet (a queued job): busy until
        `release()`. Also used the other way round: `release()` ... `hold()` around a stretch
        of a unit of work that only waits (a long FloodWait), so that it does not count."""
        self._busy += 1

    def release(self) -> None:
        self._busy -= 1

    def __enter__(self) -> None:
        self._busy += 1
        task = _current_task()
        if task is not None:
            self._tasks[task] += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._busy -= 1
        task = _current_task()
        if task is not None:
            self._tasks[task] -= 1
            if self._tasks[task] <= 0:
                del self._tasks[task]


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (synchronous code and its tests)
        return None

"""Counts background work in progress, so the test harness knows when the bot is idle.

The app's supervisor owns one `Activity`; `App.start` makes it the *current* one for every
task started inside it (a context variable, inherited by each task created from there: the
update workers, the supervised loops, what they spawn). Services mark their work the way a
tracer marks spans, without being handed the object:

- `with working():` around a unit of work running in a task of its own (a queued alert, a
  batch, a paced send in a `gather`): busy meanwhile, and its sleeps count as part of the work;
- `with waiting():` inside work, around a stretch that only waits (a long FloodWait): not busy;
- `hold()` when work is handed to a task that has not started it yet (a queued job, a queued
  log-channel post): busy until the returned `Held` is released.

Outside an app (a benchmark, a unit test) there is no current activity and these do nothing.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

__all__ = ["Activity", "Held", "hold", "waiting", "working"]

_current: ContextVar[Activity | None] = ContextVar("background_activity", default=None)


class Activity:
    """Background work in progress, and the tasks doing it.

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
        """The tasks inside `with activity:` (or `working()`) right now."""
        return frozenset(self._tasks)

    def bind(self) -> Token[Activity | None]:
        """Make this the current activity of the running task, and of every task it creates
        until `unbind(token)` (`App.start`)."""
        return _current.set(self)

    @staticmethod
    def unbind(token: Token[Activity | None]) -> None:
        _current.reset(token)

    def hold(self) -> None:
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


class working:  # noqa: N801 - used like a function: `with working():`
    """A unit of background work in the running task: busy until the block ends."""

    __slots__ = ("_activity",)

    def __init__(self) -> None:
        self._activity = _current.get()

    def __enter__(self) -> None:
        if self._activity is not None:
            self._activity.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._activity is not None:
            self._activity.__exit__(None, None, None)


class waiting:  # noqa: N801 - used like a function: `with waiting():`
    """Inside work, a stretch that only waits (a long FloodWait, a database outage): not
    counted as busy, so a test can let virtual time pass over it."""

    __slots__ = ("_activity",)

    def __init__(self) -> None:
        self._activity = _current.get()

    def __enter__(self) -> None:
        if self._activity is not None:
            self._activity.release()

    def __exit__(self, *exc: object) -> None:
        if self._activity is not None:
            self._activity.hold()


class Held:
    """Work handed over and not started yet; `release()` once it has (or was given up).
    Releasing twice is harmless."""

    __slots__ = ("_activity",)

    def __init__(self, activity: Activity | None) -> None:
        self._activity = activity
        if activity is not None:
            activity.hold()

    def release(self) -> None:
        if self._activity is not None:
            self._activity.release()
            self._activity = None


def hold() -> Held:
    """Busy until the returned `Held` is released (see the module's docstring)."""
    return Held(_current.get())


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (synchronous code and its tests)
        return None

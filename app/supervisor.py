"""One supervisor for the bot's background work.

`every(name, seconds, step)` runs a plain async step periodically (a sweep, a refresh, a
catch-up); `worker(name, run)` keeps a long-running loop alive (the job runners, the metadata
worker, the instance lease). The supervisor starts and stops them together, runs each step as
background work the harness waits for (`Activity`), logs a failure once with the task's name
(and its recovery), retries a failing step and restarts a crashed worker with backoff, and keeps
each task's last run and last error for `/health` and `/metrics`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import Clock
from core.logging import get_logger
from core.utils.activity import Activity

__all__ = ["MAX_BACKOFF", "Supervisor", "TaskState"]

log = get_logger(__name__)

MAX_BACKOFF = 300.0  # seconds: the longest wait before a failing task is tried again
FIRST_BACKOFF = 1.0


@dataclass(slots=True)
class TaskState:
    name: str
    kind: str  # "every" (a periodic step) or "worker" (a long-running loop)
    every: float | None = None
    runs: int = 0
    failures: int = 0  # in a row
    last_run: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    restarts: int = 0
    down: bool = False  # a crashed worker waiting to be restarted

    @property
    def is_failing(self) -> bool:
        """A periodic step whose last run failed, or a worker waiting for its restart."""
        return self.down if self.kind == "worker" else self.failures > 0

    def report(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "every_seconds": self.every,
            "runs": self.runs,
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "failing": self.is_failing,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "restarts": self.restarts,
        }


class Supervisor:
    def __init__(
        self,
        clock: Clock,
        *,
        on_run: Callable[[TaskState, bool], None] | None = None,
    ) -> None:
        """`on_run(state, ok)`: told after every run of a step (the metrics)."""
        self._clock = clock
        self.activity = Activity()  # background work in progress: the harness waits for it
        self._on_run = on_run
        self._specs: list[tuple[TaskState, Callable[[], Awaitable[object]], bool]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.states: dict[str, TaskState] = {}
        self._started: set[str] = set()

    def every(
        self,
        name: str,
        seconds: float,
        step: Callable[[], Awaitable[object]],
        *,
        at_start: bool = False,
    ) -> None:
        """Run `step` every `seconds` (first at start when `at_start`, else after one period).
        A failing step is tried again after a growing wait (up to `MAX_BACKOFF`, never
        sooner than its period)."""
        self._add(TaskState(name, "every", every=seconds), step, at_start)

    def worker(self, name: str, run: Callable[[], Awaitable[object]]) -> None:
        """Keep `run` (a loop that returns only when stopped) running; restarted with backoff
        if it ends by an error."""
        self._add(TaskState(name, "worker"), run, True)

    def _add(self, state: TaskState, call: Callable[[], Awaitable[object]], first: bool) -> None:
        if state.name in self.states:
            raise ValueError(f"a background task named {state.name!r} exists")
        self.states[state.name] = state
        self._specs.append((state, call, first))

    def start(
        self, into: list[asyncio.Task[None]] | None = None, *, only: frozenset[str] | None = None
    ) -> None:
        """Start every task not started yet, or `only` those named (also listed in `into`,
        e.g. the app's task list)."""
        for state, call, first in self._specs:
            if state.name in self._started or (only is not None and state.name not in only):
                continue
            self._started.add(state.name)
            loop = self._periodic if state.kind == "every" else self._keep_alive
            task = asyncio.create_task(loop(state, call, first), name=f"background:{state.name}")
            self.tasks.append(task)
            if into is not None:
                into.append(task)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        self._started.clear()

    def report(self) -> dict[str, dict[str, Any]]:
        """Each task's runs, last run and last error (for `/health`)."""
        return {name: state.report() for name, state in self.states.items()}

    @property
    def failing(self) -> list[str]:
        return [name for name, state in self.states.items() if state.is_failing]

    # --- the loops ----------------------------------------------------------------------------

    async def _periodic(
        self, state: TaskState, step: Callable[[], Awaitable[object]], first: bool
    ) -> None:
        period = state.every or 0.0
        if not first:
            await self._clock.sleep(period)
        while True:
            with self.activity:
                ok = await self._run_once(state, step)
            wait = period if ok else max(period, _backoff(state.failures))
            await self._clock.sleep(wait)

    async def _keep_alive(
        self, state: TaskState, run: Callable[[], Awaitable[object]], _first: bool
    ) -> None:
        while True:
            began = self._clock.monotonic()
            state.runs += 1  # for a worker: (re)started, and running since `last_run`
            state.last_run = self._clock.now()
            if await self._run_once(state, run, worker=True):
                return  # the loop ended by itself (it was told to stop)
            if self._clock.monotonic() - began > MAX_BACKOFF:  # it had run well for a while
                state.failures = 1
            state.restarts += 1
            state.down = True
            await self._clock.sleep(_backoff(state.failures))
            state.down = False

    async def _run_once(
        self, state: TaskState, call: Callable[[], Awaitable[object]], *, worker: bool = False
    ) -> bool:
        try:
            await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a background task must never take the bot down
            self._failed(state, exc, worker=worker)
            ok = False
        else:
            if state.failures:
                log.info("background_task_recovered", task=state.name, after=state.failures)
            state.failures = 0
            ok = True
        if not worker:
            state.runs += 1
            state.last_run = self._clock.now()
        if self._on_run is not None:
            self._on_run(state, ok)
        return ok

    def _failed(self, state: TaskState, exc: Exception, *, worker: bool) -> None:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if state.failures == 0 or error != state.last_error:  # once, not every period
            log.warning(
                "background_task_failed",
                task=state.name,
                error=error,
                restarting=worker,
                retry_in=_backoff(state.failures + 1),
            )
        state.failures += 1
        state.last_error = error
        state.last_error_at = self._clock.now()


def _backoff(failures: int) -> float:
    return min(MAX_BACKOFF, FIRST_BACKOFF * float(2 ** min(max(0, failures - 1), 16)))

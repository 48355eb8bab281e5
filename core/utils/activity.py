"""Counts background work in progress, so the test harness knows when the bot is idle."""

from __future__ import annotations

from types import TracebackType

__all__ = ["Activity"]


class Activity:
    """`with activity:` around a unit of background work (a sweep, a job step)."""

    def __init__(self) -> None:
        self._busy = 0

    @property
    def idle(self) -> bool:
        return self._busy == 0

    def __enter__(self) -> None:
        self._busy += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._busy -= 1

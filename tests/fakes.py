"""Fakes for the edges only (the clock), and a log-capture helper."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from typing import Any

from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs


class FakeClock:
    """A monotonic clock tests move by hand; `sleep` advances it instead of waiting."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def capture_events() -> AbstractContextManager[list[MutableMapping[str, Any]]]:
    """`structlog.testing.capture_logs` with the bound context (correlation id, user id) merged."""
    return capture_logs(processors=[merge_contextvars])

"""Per-update traces: what one update cost and which database and Telegram calls it made.

The middleware opens a `Trace` for every update (`start_trace`), the database layer and the
Telegram client note their calls into the trace of the update being handled (`note_call`, a
no-op outside one), and the finished trace goes to a bounded in-memory `TraceStore` that
`/debug_last` reads. Traces hold ids, names, codes and durations only: never message texts,
file names or secrets.
"""

from __future__ import annotations

import contextvars
import time
from collections import deque
from dataclasses import dataclass, field

__all__ = ["Call", "Trace", "TraceStore", "current_trace", "note_call", "start_trace"]

MAX_CALLS = 50  # calls kept per trace (a long batch is summarised by the count)


@dataclass(frozen=True, slots=True)
class Call:
    kind: str  # "db" | "telegram"
    name: str  # "files.get", "messages.SendMessage"
    ms: float
    error: str | None = None


@dataclass(slots=True)
class Trace:
    correlation_id: str
    update: str  # message | callback_query | inline_query | ...
    handler: str
    user_id: int | None
    chat_id: int | None
    started_at: float  # wall clock, seconds since the epoch
    outcome: str = "ok"  # ok | refused | error | telegram_error
    code: str | None = None  # the error code, for refusals and errors
    duration_ms: float = 0.0
    calls: list[Call] = field(default_factory=list)
    dropped_calls: int = 0

    def add(self, call: Call) -> None:
        if len(self.calls) < MAX_CALLS:
            self.calls.append(call)
        else:
            self.dropped_calls += 1


_current: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("trace", default=None)


def current_trace() -> Trace | None:
    return _current.get()


class start_trace:  # noqa: N801 - used like a function: `with start_trace(trace):`
    """Make `trace` the current one for the block (the update's handling); its duration is
    measured here. A class rather than a generator: it runs once per update, on the hot path."""

    __slots__ = ("_began", "_token", "trace")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> Trace:
        self._token = _current.set(self.trace)
        self._began = time.perf_counter()
        return self.trace

    def __exit__(self, *_: object) -> None:
        self.trace.duration_ms = (time.perf_counter() - self._began) * 1000
        _current.reset(self._token)


def note_call(kind: str, name: str, seconds: float, error: str | None = None) -> None:
    """Record a call in the current trace, if an update is being handled."""
    trace = _current.get()
    if trace is not None:
        trace.add(Call(kind, name, round(seconds * 1000, 2), error))


class TraceStore:
    """The last `size` traces, newest last."""

    def __init__(self, size: int = 200) -> None:
        self._traces: deque[Trace] = deque(maxlen=max(1, size))

    def add(self, trace: Trace) -> None:
        self._traces.append(trace)

    def last(self, n: int = 1) -> list[Trace]:
        """The newest `n` traces, newest first."""
        return list(reversed(self._traces))[: max(0, n)]

    def find(self, correlation_id: str) -> Trace | None:
        wanted = correlation_id.strip().lower()
        return next((t for t in reversed(self._traces) if t.correlation_id == wanted), None)

    def __len__(self) -> int:
        return len(self._traces)

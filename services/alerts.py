"""Alerts to the operator's chat (`ALERT_CHAT`, else `LOG_CHANNEL`): deduplicated, rate limited.

An alert is keyed (`unhandled:KeyError`, `database_unreachable`, ...). The first one sends a
message; the same key again within `dedup_seconds` (5 minutes) edits that message to show the
count ("x2", with a multiplication sign) instead of sending another. At most `per_hour` alert
messages go out an hour; the rest are counted and summed up in one message when the hour is
over. Each alert carries the correlation
id of the update that caused it (if any) and the RUNBOOK section that says what to do. A failure
to send is logged, never raised.

`ThresholdRules` turns the app's metrics into alerts: error rate, cache hit rate, response time
and memory, each over its window (sampled once a minute).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.clock import Clock
from core.logging import get_logger
from core.utils.activity import Held, hold, working

__all__ = ["Alert", "Alerts", "Sample", "ThresholdRules"]

log = get_logger(__name__)

Send = Callable[[int, str], Awaitable[int | None]]
"""Sends a text to a chat; the message id."""
Edit = Callable[[int, int, str], Awaitable[object]]
"""Edits message (chat id, message id) into a text."""
RUNBOOK = "docs/RUNBOOK.md"
TIMES = "\u00d7"  # the multiplication sign of "... x2"


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    title: str
    detail: str = ""
    runbook: str = ""  # the RUNBOOK section's anchor
    correlation_id: str | None = None

    def render(self, count: int = 1) -> str:
        lines = [f"🚨 <b>{self.title}</b>" + (f" {TIMES}{count}" if count > 1 else "")]
        if self.detail:
            lines.append(self.detail)
        if self.correlation_id:
            lines.append(f"ref: {self.correlation_id}")
        if self.runbook:
            lines.append(f"What to do: {RUNBOOK}#{self.runbook}")
        return "\n".join(lines)


@dataclass
class _Open:
    alert: Alert
    message_id: int | None
    first_at: float
    count: int = 1


class Alerts:
    def __init__(
        self,
        chat_id: int | None,
        send: Send,
        edit: Edit,
        clock: Clock,
        *,
        enabled: bool = True,
        per_hour: int = 20,
        dedup_seconds: float = 300.0,
    ) -> None:
        self.chat_id = chat_id if enabled else None
        self._send = send
        self._edit = edit
        self._clock = clock
        self._per_hour = per_hour
        self._dedup = dedup_seconds
        self._open: dict[str, _Open] = {}
        self._hour_started = clock.monotonic()
        self._sent_this_hour = 0
        self._suppressed = 0
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    def fire(self, alert: Alert) -> None:
        """Raise `alert` (in the background; returns at once)."""
        log.warning("alert", key=alert.key, title=alert.title, correlation_id=alert.correlation_id)
        if self.chat_id is None:
            return
        held = hold()  # busy until sent (or given up)
        task = asyncio.create_task(self._deliver(alert))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._done(done, held))

    def _done(self, task: asyncio.Task[None], held: Held) -> None:
        self._tasks.discard(task)
        held.release()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, alert: Alert) -> None:
        chat_id = self.chat_id
        if chat_id is None:  # pragma: no cover - `fire` checks
            return
        async with self._lock:
            with working():
                try:
                    await self._deliver_locked(chat_id, alert)
                except Exception as exc:  # noqa: BLE001 - an alert never breaks the bot
                    log.warning("alert_not_sent", key=alert.key, error=type(exc).__name__)

    async def _deliver_locked(self, chat_id: int, alert: Alert) -> None:
        now = self._clock.monotonic()
        await self._roll_hour(chat_id, now)
        current = self._open.get(alert.key)
        if current is not None and now - current.first_at < self._dedup:
            current.count += 1
            if current.message_id is not None:
                await self._edit(chat_id, current.message_id, current.alert.render(current.count))
            return
        if self._sent_this_hour >= self._per_hour:
            self._suppressed += 1
            return
        self._sent_this_hour += 1
        message_id = await self._send(chat_id, alert.render())
        self._open[alert.key] = _Open(alert, message_id, now)

    async def _roll_hour(self, chat_id: int, now: float) -> None:
        if now - self._hour_started < 3600:  # noqa: PLR2004 - an hour
            return
        if self._suppressed:
            await self._send(
                chat_id,
                f"🚨 {self._suppressed} more alerts in the last hour were not sent "
                f"(at most {self._per_hour} an hour); see the logs (event 'alert').",
            )
        self._hour_started, self._sent_this_hour, self._suppressed = now, 0, 0

    async def tick(self) -> None:
        """Send the hour's summary once it is over (called every minute)."""
        if self.chat_id is not None and self._suppressed:
            async with self._lock:
                await self._roll_hour(self.chat_id, self._clock.monotonic())


@dataclass(frozen=True, slots=True)
class Sample:
    """Counters read from the metrics at one moment (cumulative since start)."""

    at: float
    requests: float
    errors: float
    seconds: float  # total handling time
    cache_hits: float
    cache_misses: float
    memory_ratio: float  # resident memory / memory available to the process


@dataclass(frozen=True, slots=True)
class _Rule:
    key: str
    title: str
    window: float  # seconds
    runbook: str


ERROR_RATE = _Rule("error_rate", "Error rate above 1 %", 300, "error-rate")
CACHE_HIT = _Rule("cache_hit_rate", "Cache hit rate below 60 %", 600, "cache-hit-rate")
SLOW = _Rule("response_time", "Average response time above 100 ms", 300, "response-time")
MEMORY = _Rule("memory", "Memory above 80 %", 900, "memory")
MIN_REQUESTS = 20  # fewer requests in a window say nothing about rates
MIN_LOOKUPS = 100


class ThresholdRules:
    """The threshold alerts, evaluated from samples taken once a minute."""

    def __init__(self, alerts: Alerts) -> None:
        self._alerts = alerts
        self._samples: deque[Sample] = deque(maxlen=32)

    def observe(self, sample: Sample) -> list[str]:
        """Add a sample; fire (and return the keys of) the rules that hold."""
        self._samples.append(sample)
        fired: list[str] = []
        for rule, detail in self._evaluate(sample):
            self._alerts.fire(Alert(rule.key, rule.title, detail, rule.runbook))
            fired.append(rule.key)
        return fired

    def _since(self, now: Sample, window: float) -> Sample | None:
        """The newest sample at least `window` seconds old (None: not enough history)."""
        older = [s for s in self._samples if now.at - s.at >= window - 1]
        return older[-1] if older else None

    def _evaluate(self, now: Sample) -> list[tuple[_Rule, str]]:
        out: list[tuple[_Rule, str]] = []
        base = self._since(now, ERROR_RATE.window)
        if base is not None and (requests := now.requests - base.requests) >= MIN_REQUESTS:
            rate = (now.errors - base.errors) / requests
            if rate > 0.01:  # noqa: PLR2004 - 1 %
                out.append((ERROR_RATE, f"{rate:.1%} of {requests:.0f} updates in 5 min failed"))
            average = (now.seconds - base.seconds) / requests
            if average > 0.1:  # noqa: PLR2004 - 100 ms
                out.append((SLOW, f"{average * 1000:.0f} ms per update over 5 min"))
        base = self._since(now, CACHE_HIT.window)
        if base is not None:
            hits = now.cache_hits - base.cache_hits
            lookups = hits + now.cache_misses - base.cache_misses
            if lookups >= MIN_LOOKUPS and hits / lookups < 0.6:  # noqa: PLR2004 - 60 %
                out.append((CACHE_HIT, f"{hits / lookups:.0%} of {lookups:.0f} lookups in 10 min"))
        window = [s for s in self._samples if now.at - s.at <= MEMORY.window]
        if (
            self._since(now, MEMORY.window) is not None
            and window
            and all(s.memory_ratio > 0.8 for s in window)  # noqa: PLR2004 - 80 %
        ):
            out.append((MEMORY, f"{now.memory_ratio:.0%} of the memory available, for 15 min"))
        return out

"""Observability wired for one app: metrics, traces, the per-update log line, alerts (from
errors and from the threshold rules), the live `/health` and the HTTP server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pyrogram import Client
from pyrogram.errors import FloodWait
from pyrogram.raw.core import TLObject

from app.http import OpsServer
from app.supervisor import Supervisor
from core.cache.enhanced_cache import get_all_cache_stats
from core.clock import Clock
from core.config import Settings
from core.logging import get_logger
from core.metrics import Metrics, memory_limit_bytes
from core.traces import Trace, TraceStore, note_call
from core.utils.errors import AppError, current_correlation_id
from repositories.mongo import Database
from services.alerts import Alert, Alerts, Sample, ThresholdRules
from services.stats import version

__all__ = ["MONITOR_SECONDS", "Ops"]

log = get_logger("bot")
_STDLIB_LOG = logging.getLogger("bot")

Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Gauges = Callable[[], Awaitable[tuple[int, int]]]
JobsReport = Callable[[], Awaitable[tuple[dict[str, float], list[tuple[str, str, str]]]]]
"""(progress by job kind, [(job id, kind, reason)] of jobs that stopped on a problem)."""

MONITOR_SECONDS = 60.0  # health and threshold rules are looked at this often
DB_PING_TIMEOUT = 3.0


@dataclass
class Ops:
    settings: Settings
    clock: Clock
    alerts: Alerts
    metrics: Metrics = field(default_factory=Metrics)
    traces: TraceStore = field(default_factory=TraceStore)
    http: OpsServer | None = None
    started_at: float = field(default_factory=time.monotonic)
    _rules: ThresholdRules | None = None
    _down: set[str] = field(default_factory=set)
    _failed_jobs: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._rules = ThresholdRules(self.alerts)

    # --- every update ----------------------------------------------------------------------

    def observe(self, trace: Trace) -> None:
        """A handled update: its metrics, its trace, and its log line (with `duration_ms`)."""
        self.metrics.observe_request(
            trace.handler, trace.outcome, trace.duration_ms / 1000, trace.code
        )
        for call in trace.calls:
            if call.kind == "db":
                self.metrics.observe_db(call.name, call.ms / 1000)
        self.traces.add(trace)
        if not _STDLIB_LOG.isEnabledFor(logging.INFO):  # skip building a line nobody keeps
            return
        log.info(
            "update_handled",
            update=trace.update,
            outcome=trace.outcome,
            code=trace.code,
            duration_ms=round(trace.duration_ms, 1),
            db_calls=sum(1 for c in trace.calls if c.kind == "db"),
            telegram_calls=sum(1 for c in trace.calls if c.kind == "telegram"),
        )

    def on_failure(self, exc: BaseException, code: str) -> None:
        """An unhandled error in a handler: an alert (folded with its repeats)."""
        name = type(exc).__name__
        self.alerts.fire(
            Alert(
                key=f"unhandled:{name}",
                title=f"Unhandled error: {name}",
                detail=f"code {code}; the user got an error with this reference",
                runbook="unhandled-error",
                correlation_id=current_correlation_id(),
            )
        )

    def instrument(self, client: Client) -> None:
        """Every Telegram call the client makes: counted, timed, traced; FloodWaits summed."""
        invoke = client.invoke
        metrics = self.metrics

        async def traced(query: TLObject[Any], *args: Any, **kwargs: Any) -> Any:
            method = type(query).QUALNAME.removeprefix("functions.")
            began = time.perf_counter()
            error: str | None = None
            waited = 0.0
            try:
                return await invoke(query, *args, **kwargs)
            except FloodWait as exc:
                waited = float(exc.value) if isinstance(exc.value, int | float) else 0.0
                error = "FLOOD_WAIT"
                raise
            except Exception as exc:
                error = type(exc).__name__
                raise
            finally:
                seconds = time.perf_counter() - began
                metrics.observe_telegram(method, seconds, waited)
                note_call("telegram", method, seconds, error)

        client.invoke = traced  # type: ignore[method-assign]  # the same signature, observed

    # --- health, the monitor, the server ----------------------------------------------------

    async def health(
        self,
        database: Database,
        client: Client,
        index_lag: Callable[[], Awaitable[int | None]],
        running_jobs: Callable[[], Awaitable[int]],
        background: Supervisor | None = None,
    ) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        began = time.perf_counter()
        try:
            await asyncio.wait_for(database.ping(), DB_PING_TIMEOUT)
            checks["database"] = {
                "status": "ok",
                "latency_ms": round((time.perf_counter() - began) * 1000, 1),
            }
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            checks["database"] = {"status": "fail", "error": type(exc).__name__}
        connected = bool(client.is_connected)
        checks["telegram"] = {"status": "ok" if connected else "fail", "connected": connected}
        if checks["database"]["status"] == "ok":
            lag = await index_lag()
            checks["search_index"] = (
                {"status": "ok", "lag": lag}
                if lag is not None
                else {"status": "rebuilding", "lag": None}
            )
            checks["jobs"] = {"status": "ok", "running": await running_jobs()}
        if background is not None:  # each supervised task's last run and last error
            failing = background.failing
            checks["background"] = {
                "status": "failing" if failing else "ok",
                "failing": failing,
                "tasks": background.report(),
            }
        healthy = checks["database"]["status"] == "ok" and connected
        return healthy, {
            "status": "healthy" if healthy else "unhealthy",
            "version": version(),
            "uptime_seconds": round(time.monotonic() - self.started_at, 1),
            "checks": checks,
        }

    async def check_once(self, health: Health, gauges: Gauges, jobs: JobsReport) -> None:
        """Once a minute (supervised as "monitor"): the database and Telegram (alerts when
        they go away), failed jobs, the threshold rules, the gauges, and the alerts' hourly
        summary."""
        _, body = await health()
        checks = body["checks"]
        self._transition(
            "database_unreachable",
            checks["database"]["status"] != "ok",
            Alert(
                "database_unreachable",
                "Database unreachable",
                f"ping failed: {checks['database'].get('error', '')}",
                "database-unreachable",
            ),
        )
        self._transition(
            "telegram_disconnected",
            not checks["telegram"]["connected"],
            Alert(
                "telegram_disconnected",
                "Telegram disconnected",
                "the client is not connected",
                "telegram-disconnected",
            ),
        )
        if checks["database"]["status"] == "ok":
            files, users = await gauges()
            self.metrics.files.set(files)
            self.metrics.users.set(users)
            progress, failed = await jobs()
            for kind in ("index", "broadcast"):
                self.metrics.job_done.labels(kind).set(progress.get(kind, 0.0))
            for job_id, kind, reason in failed:
                if job_id not in self._failed_jobs:
                    self._failed_jobs.add(job_id)
                    self.alerts.fire(
                        Alert(f"job_failed:{job_id}", f"Job stopped: {kind}", reason, "job-failed")
                    )
        if self._rules is not None:
            self._rules.observe(self.sample())
        await self.alerts.tick()

    def _transition(self, key: str, down: bool, alert: Alert) -> None:
        if down and key not in self._down:
            self._down.add(key)
            self.alerts.fire(alert)
        elif not down and key in self._down:
            self._down.discard(key)
            log.info("recovered", check=key)

    def sample(self) -> Sample:
        m = self.metrics
        requests = errors = seconds = 0.0
        for metric in m.registry.collect():
            for s in metric.samples:
                if s.name == "filesearch_requests_total":
                    requests += s.value
                    if s.labels.get("outcome") in ("error", "telegram_error"):
                        errors += s.value
                elif s.name == "filesearch_request_duration_seconds_sum":
                    seconds += s.value
        caches = get_all_cache_stats().values()
        return Sample(
            at=self.clock.monotonic(),
            requests=requests,
            errors=errors,
            seconds=seconds,
            cache_hits=float(sum(c.hits for c in caches)),
            cache_misses=float(sum(c.misses for c in caches)),
            memory_ratio=memory_ratio(),
        )

    async def start_http(
        self, health: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
    ) -> None:
        port = self.settings.http_port
        if port <= 0:
            return
        token = self.settings.admin_api_token
        self.http = OpsServer(
            self.settings.http_host,
            port,
            metrics=self.metrics,
            health=health,
            token=token.get_secret_value() if token else None,
        )
        try:
            await self.http.start()
        except OSError as exc:  # the port is taken, or the address is not this machine's
            self.http = None
            raise AppError(
                f"the HTTP server cannot listen on {self.settings.http_host}:{port} "
                f"({exc.strerror or exc}); choose another HTTP_PORT, or 0 to turn it off"
            ) from exc

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()
            self.http = None
        await self.alerts.close()


def memory_ratio() -> float:
    """This process's resident memory over the memory it may use (its cgroup limit, else the
    machine's); 0 where that cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123
            rss = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))
    except (OSError, StopIteration, ValueError):
        return 0.0
    limit = memory_limit_bytes()
    return rss / limit if limit else 0.0

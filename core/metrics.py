"""Prometheus metrics for one app (its own registry: several apps in one process, as in the
tests, never share or clash): requests, latencies, errors, Telegram and database calls,
FloodWait seconds, caches, jobs, files and users; the process's own (`process_*`: memory, CPU,
open files), the Python platform's, and the memory the process may use
(`filesearch_memory_limit_bytes`), which the shipped memory alert divides by."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from core.cache.enhanced_cache import get_all_cache_stats

__all__ = ["CONTENT_TYPE", "Metrics", "memory_limit_bytes"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PREFIX = "filesearch"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests", "Updates handled", ["handler", "outcome"], registry=r
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time to handle one update",
            ["handler"],
            buckets=_LATENCY,
            registry=r,
        )
        self.errors = Counter(f"{PREFIX}_errors", "Errors by code", ["code"], registry=r)
        self.search_seconds = Histogram(
            f"{PREFIX}_search_duration_seconds", "One search", buckets=_LATENCY, registry=r
        )
        self.telegram_calls = Counter(
            f"{PREFIX}_telegram_calls", "Telegram API calls", ["method"], registry=r
        )
        self.telegram_seconds = Histogram(
            f"{PREFIX}_telegram_call_duration_seconds",
            "Telegram API call latency",
            ["method"],
            buckets=_LATENCY,
            registry=r,
        )
        self.flood_wait_seconds = Counter(
            f"{PREFIX}_flood_wait_seconds", "Seconds Telegram asked to wait", ["method"], registry=r
        )
        self.db_seconds = Histogram(
            f"{PREFIX}_db_operation_duration_seconds",
            "Database operation latency (during updates)",
            ["operation"],
            buckets=_LATENCY,
            registry=r,
        )
        self.job_done = Gauge(
            f"{PREFIX}_job_progress_ratio", "Progress of running jobs (0-1)", ["kind"], registry=r
        )
        self.files = Gauge(f"{PREFIX}_files", "Files indexed", registry=r)
        self.users = Gauge(f"{PREFIX}_users", "Users known", registry=r)
        r.register(_CacheCollector())
        ProcessCollector(registry=r)  # process_resident_memory_bytes, CPU seconds, open fds
        PlatformCollector(registry=r)  # python_info
        self.background_runs = Counter(
            f"{PREFIX}_background_runs",
            "Runs of a supervised background task, by outcome",
            ["task", "outcome"],
            registry=r,
        )
        self.background_last_run = Gauge(
            f"{PREFIX}_background_last_run_timestamp_seconds",
            "When a supervised background task last ran (Unix time)",
            ["task"],
            registry=r,
        )
        self.memory_limit = Gauge(
            f"{PREFIX}_memory_limit_bytes",
            "Memory this process may use: its cgroup (container) limit, else the machine's",
            registry=r,
        )
        limit = memory_limit_bytes()
        if limit:
            self.memory_limit.set(limit)
        self._request_children: dict[tuple[str, str], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._db_children: dict[str, Any] = {}
        self._telegram_children: dict[str, tuple[Any, Any]] = {}

    def observe_background(self, state: Any, ok: bool) -> None:
        """A supervised task ran (`app.supervisor.TaskState`; `ok`: without an error)."""
        self.background_runs.labels(state.name, "ok" if ok else "error").inc()
        if state.last_run is not None:
            self.background_last_run.labels(state.name).set(state.last_run.timestamp())

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        """One sample's value (0 when absent): for the alert rules and the tests."""
        value = self.registry.get_sample_value(name, labels or {})
        return float(value) if value is not None else 0.0

    def observe_request(
        self, handler: str, outcome: str, seconds: float, code: str | None = None
    ) -> None:
        # The labelled children are looked up once and kept: `labels()` costs microseconds,
        # and this runs for every update.
        key = (handler, outcome)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self.requests.labels(handler, outcome)
        counter.inc()
        histogram = self._latency_children.get(handler)
        if histogram is None:
            histogram = self._latency_children[handler] = self.request_seconds.labels(handler)
        histogram.observe(seconds)
        if code is not None and outcome in ("error", "telegram_error"):
            self.errors.labels(code).inc()

    def observe_db(self, operation: str, seconds: float) -> None:
        child = self._db_children.get(operation)
        if child is None:
            child = self._db_children[operation] = self.db_seconds.labels(operation)
        child.observe(seconds)

    def observe_telegram(self, method: str, seconds: float, flood_wait: float = 0.0) -> None:
        children = self._telegram_children.get(method)
        if children is None:
            children = self._telegram_children[method] = (
                self.telegram_calls.labels(method),
                self.telegram_seconds.labels(method),
            )
        children[0].inc()
        children[1].observe(seconds)
        if flood_wait:
            self.flood_wait_seconds.labels(method).inc(flood_wait)


class _CacheCollector(Collector):
    """Every in-memory cache's counters, read when scraped."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = get_all_cache_stats()
        families: dict[str, tuple[type, str, Callable[..., float]]] = {
            "hits": (CounterMetricFamily, "Cache hits", lambda s: s.hits),
            "misses": (CounterMetricFamily, "Cache misses", lambda s: s.misses),
            "evictions": (CounterMetricFamily, "Cache evictions", lambda s: s.evictions),
            "expirations": (CounterMetricFamily, "Cache expirations", lambda s: s.expirations),
            "size": (GaugeMetricFamily, "Entries in the cache", lambda s: s.size),
        }
        for suffix, (kind, doc, read) in families.items():
            family = kind(f"{PREFIX}_cache_{suffix}", doc, labels=["cache"])
            for name, stat in sorted(stats.items()):
                family.add_metric([name], float(read(stat)))
            yield family


def memory_limit_bytes() -> int | None:
    """The memory this process may use: its cgroup's limit (a container's, cgroup v2 or v1)
    when there is one below the machine's memory, else the machine's; None where neither can
    be read."""
    try:
        machine: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        machine = None
    limits = [x for x in (_cgroup_limit(), machine) if x]
    return min(limits) if limits else None


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as file:  # noqa: PTH123
                text = file.read().strip()
        except OSError:
            continue
        if text.isdigit():  # "max" (v2) or a huge number (v1) mean no limit: min() drops it
            return int(text)
    return None

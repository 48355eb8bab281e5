"""Core library costs: cache hit vs raw cachetools, ErrorResponse construction, guard decisions.

Run: `make bench` (or `.venv/bin/python -m bench.core`).
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime, timedelta

from cachetools import LRUCache, TTLCache

from bench.report import write_section
from core.cache.enhanced_cache import EnhancedCache
from core.models import User
from core.utils.errors import ErrorFactory, ValidationError
from core.utils.guards import Gate, decide

NUMBER = 200_000
REPEAT = 7


def best(stmt: object) -> float:
    """Best-of-REPEAT nanoseconds per call."""
    times = timeit.repeat(stmt, number=NUMBER, repeat=REPEAT)  # type: ignore[arg-type]
    return min(times) / NUMBER * 1e9


def main() -> None:
    keys = [f"user:{i}" for i in range(1000)]
    raw_lru: LRUCache[str, int] = LRUCache(maxsize=2000)
    raw_ttl: TTLCache[str, int] = TTLCache(maxsize=2000, ttl=3600)
    ours_lru: EnhancedCache[str, int] = EnhancedCache("bench-lru", maxsize=2000)
    ours_ttl: EnhancedCache[str, int] = EnhancedCache("bench-ttl", maxsize=2000, ttl=3600)
    for i, k in enumerate(keys):
        raw_lru[k] = raw_ttl[k] = i
        ours_lru.set(k, i)
        ours_ttl.set(k, i)
    key = keys[500]

    rows = []
    for label, raw, ours in (("LRU", raw_lru, ours_lru), ("LRU+TTL", raw_ttl, ours_ttl)):
        raw_get = best(lambda raw=raw: raw.get(key))  # type: ignore[misc]
        raw_item = best(lambda raw=raw: raw[key])  # type: ignore[misc]
        ours_get = best(lambda ours=ours: ours.get(key))  # type: ignore[misc]
        rows.append(
            f"| {label} hit | {raw_item:.0f} ns | {raw_get:.0f} ns | {ours_get:.0f} ns "
            f"| {ours_get / raw_get:.2f}x | {ours_get / raw_item:.2f}x |"
        )

    error = ValidationError("query")
    build = best(lambda: ErrorFactory.from_exception(error, correlation_id="abcd1234"))
    build_new_id = best(lambda: ErrorFactory.from_exception(error))
    render = ErrorFactory.from_exception(error, correlation_id="abcd1234")
    to_html = best(render.to_telegram)

    now = datetime.now(UTC)
    user = User(1001, "A", None, now, now, premium_until=now + timedelta(days=3))
    admins = frozenset({1, 2, 3})
    decision = best(
        lambda: decide(user_id=1001, user=user, admins=admins, now=now, global_gate=Gate.PREMIUM)
    )

    body = f"""
Best of {REPEAT} runs of {NUMBER:,} calls each, same process, same keys (1,000 entries).

| lookup | raw `cache[k]` | raw `cache.get(k)` | `EnhancedCache.get` | vs raw get | vs raw `[k]` |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Goal: an `EnhancedCache` hit costs at most 2x a raw cachetools lookup (it counts the hit and
keeps LRU order; raw `get` pays `__contains__` + `__getitem__`).

| operation | per call |
|---|---|
| `ErrorFactory.from_exception(ValidationError)` (given correlation id) | {build:.0f} ns |
| same, new correlation id | {build_new_id:.0f} ns |
| `ErrorResponse.to_telegram()` | {to_html:.0f} ns |
| `decide(...)` premium user, premium gate | {decision:.0f} ns |
"""
    write_section("core", "Core library", "make bench", body)


if __name__ == "__main__":
    main()

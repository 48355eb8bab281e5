"""`EnhancedCache`: LRU (+ optional TTL) on cachetools, with metrics, a registry and decorators."""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar, cast

from cachetools import Cache, LRUCache, TTLCache
from cachetools.keys import hashkey

__all__ = [
    "CacheStats",
    "EnhancedCache",
    "cached",
    "cached_membership",
    "cached_premium_status",
    "cached_search_page",
    "cached_user_record",
    "expire_all_caches",
    "get_all_cache_stats",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = ParamSpec("P")
R = TypeVar("R")

Timer = Callable[[], float]
_MISSING: Any = object()

_registry: weakref.WeakValueDictionary[str, EnhancedCache[Any, Any]] = weakref.WeakValueDictionary()


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one cache's counters."""

    name: str
    hits: int
    misses: int
    evictions: int
    expirations: int
    loads: int
    load_failures: int
    size: int
    maxsize: int
    ttl: float | None

    @property
    def hit_ratio(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class _Counters:
    __slots__ = ("evictions", "expirations", "hits", "load_failures", "loads", "misses")

    def __init__(self) -> None:
        self.hits = self.misses = self.evictions = self.expirations = 0
        self.loads = self.load_failures = 0


class _CountingLRU(LRUCache[Any, Any]):
    def __init__(self, maxsize: int, counters: _Counters) -> None:
        super().__init__(maxsize)
        self._counters = counters

    def popitem(self) -> tuple[Any, Any]:  # called by cachetools only when over capacity
        item = super().popitem()
        self._counters.evictions += 1
        return item


class _CountingTTL(TTLCache[Any, Any]):
    def __init__(self, maxsize: int, ttl: float, timer: Timer, counters: _Counters) -> None:
        super().__init__(maxsize, ttl, timer=timer)
        self._counters = counters

    def popitem(self) -> tuple[Any, Any]:  # capacity eviction of the least recently used item
        item = super().popitem()
        self._counters.evictions += 1
        return item

    def expire(self, time: float | None = None) -> list[tuple[Any, Any]]:
        expired = super().expire(time)
        self._counters.expirations += len(expired)
        return expired


class EnhancedCache(Generic[K, V]):
    """A bounded LRU cache, optionally with a TTL, counting what happens to it.

    Hits and misses are counted once per lookup here, not in `__getitem__` (cachetools' own
    `get`/`pop` call `__contains__` and `__getitem__` and would count twice).
    """

    def __init__(
        self, name: str, maxsize: int, ttl: float | None = None, timer: Timer = time.monotonic
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.name = name
        self.maxsize = maxsize
        self.ttl = ttl
        self._counters = _Counters()
        self._data: Cache[Any, Any]
        if ttl is None:
            self._data = _CountingLRU(maxsize, self._counters)
        else:
            self._data = _CountingTTL(maxsize, ttl, timer, self._counters)
        self._inflight: dict[K, asyncio.Future[V]] = {}
        self._changes = 0  # entries dropped on purpose: `delete`, `clear`, `invalidate*`
        _registry[name] = self

    @property
    def changes(self) -> int:
        """How many times entries were dropped on purpose so far. A value read from its source
        while this was `n`, stored with `set(..., unless_changed_since=n)`, is not kept if an
        entry was dropped meanwhile (the read may hold what that drop made stale)."""
        return self._changes

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: K, default: V | None = None) -> V | None:
        value = self._lookup(key)
        return default if value is _MISSING else cast("V", value)

    def _lookup(self, key: K) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            self._counters.misses += 1
            if self.ttl is not None:
                self.expire()  # an expired entry was found or is likely: free the memory now
            return _MISSING
        self._counters.hits += 1
        return value

    def set(self, key: K, value: V, *, unless_changed_since: int | None = None) -> None:
        if unless_changed_since is not None and unless_changed_since != self._changes:
            return
        self._data[key] = value

    def delete(self, key: K) -> bool:
        self._changes += 1  # even when absent: a read in flight may be about to store it
        return self._data.pop(key, _MISSING) is not _MISSING

    def clear(self) -> None:
        self._changes += 1
        self._data.clear()

    def invalidate(self, match: str | Callable[[K], bool]) -> int:
        """Delete the keys that start with a prefix (string keys) or satisfy a predicate."""
        predicate: Callable[[K], bool]
        if isinstance(match, str):
            prefix = match
            predicate = lambda key: isinstance(key, str) and key.startswith(prefix)  # noqa: E731
        else:
            predicate = match
        doomed = [key for key in list(self._data.keys()) if predicate(key)]
        self._changes += 1
        for key in doomed:
            self._data.pop(key, None)
        return len(doomed)

    def invalidate_where(self, predicate: Callable[[K, V], bool]) -> int:
        """Delete the entries whose key and value satisfy `predicate` (recency and hit counts
        are left as they were: looking is not using)."""
        doomed = [
            key
            for key in list(self._data.keys())
            if predicate(key, cast("V", Cache.__getitem__(self._data, key)))
        ]
        self._changes += 1
        for key in doomed:
            self._data.pop(key, None)
        return len(doomed)

    def expire(self) -> int:
        """Drop expired entries now; returns how many. A no-op for caches without TTL."""
        if isinstance(self._data, TTLCache):
            return len(self._data.expire())
        return 0

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value, or `compute()`'s result (cached unless it raises)."""
        value = self._lookup(key)
        if value is not _MISSING:
            return cast("V", value)
        try:
            computed = compute()
        except BaseException:
            self._counters.load_failures += 1
            raise
        self._counters.loads += 1
        self._data[key] = computed
        return computed

    async def get_or_load(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or the loader's result; concurrent misses share one load.

        A failed load is not cached: every waiter gets the exception and the next call retries.
        """
        while True:
            value = self._lookup(key)
            if value is not _MISSING:
                return cast("V", value)
            pending = self._inflight.get(key)
            if pending is None:
                return await self._load(key, loader)
            await asyncio.wait([pending])
            if not pending.cancelled():
                return pending.result()
            # The loading task was cancelled: try again (this caller may load it now).

    async def _load(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume_exception)
        self._inflight[key] = future
        try:
            value = await loader()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            self._counters.load_failures += 1
            future.set_exception(exc)
            raise
        finally:
            self._inflight.pop(key, None)
        self._counters.loads += 1
        self._data[key] = value
        future.set_result(value)
        return value

    def stats(self) -> CacheStats:
        size = len(self._data)  # first: a TTL cache expires stale entries while measuring
        c = self._counters
        return CacheStats(
            name=self.name,
            hits=c.hits,
            misses=c.misses,
            evictions=c.evictions,
            expirations=c.expirations,
            loads=c.loads,
            load_failures=c.load_failures,
            size=size,
            maxsize=self.maxsize,
            ttl=self.ttl,
        )


def _consume_exception(future: asyncio.Future[Any]) -> None:
    """Mark a shared load's exception as retrieved when nobody else was waiting for it."""
    if not future.cancelled():
        future.exception()


def get_all_cache_stats() -> Mapping[str, CacheStats]:
    """Name → snapshot of every live cache."""
    return {name: cache.stats() for name, cache in sorted(_registry.items())}


def get_all_cache_memory(sample: int = 32) -> Mapping[str, int]:
    """Name → an estimate of the bytes each cache holds: its entries' shallow sizes, measured
    on a sample of up to `sample` entries and scaled to the cache's size (for `/cache/stats`)."""
    estimates: dict[str, int] = {}
    for name, cache in sorted(_registry.items()):
        entries = list(itertools.islice(cache._data.items(), sample))
        if not entries:
            estimates[name] = 0
            continue
        measured = sum(sys.getsizeof(k) + _size(v) for k, v in entries)
        estimates[name] = measured * len(cache._data) // len(entries)
    return estimates


def _size(value: object) -> int:
    """Shallow size of a value, plus its fields' for slotted dataclasses and tuples."""
    size = sys.getsizeof(value)
    if isinstance(value, tuple | list):
        return size + sum(sys.getsizeof(v) for v in value)
    for name in getattr(value, "__slots__", ()):
        size += sys.getsizeof(getattr(value, name, None))
    return size


def expire_all_caches() -> int:
    """Expire stale entries in every TTL cache; returns how many were dropped."""
    return sum(cache.expire() for cache in list(_registry.values()))


# --- decorators ----------------------------------------------------------------------------------

KeyFunc = Callable[..., Hashable]


def cached(
    cache: EnhancedCache[Any, Any], key: KeyFunc | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache a sync or async function's results in `cache`, keyed by `key(*args, **kwargs)`.

    Async functions go through `get_or_load`, so concurrent callers share one call.
    """
    make_key: KeyFunc = key or hashkey

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await cache.get_or_load(
                    make_key(*args, **kwargs), lambda: func(*args, **kwargs)
                )

            return cast("Callable[P, R]", async_wrapper)

        @functools.wraps(func)
        def sync_wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return cast(
                "R", cache.get_or_compute(make_key(*args, **kwargs), lambda: func(*args, **kwargs))
            )

        return sync_wrapper

    return decorate


def _args_key(*positions: int) -> KeyFunc:
    def key(*args: Any, **_: Any) -> Hashable:
        picked = tuple(args[i] for i in positions)
        return picked[0] if len(picked) == 1 else picked

    return key


Decorator = Callable[[Callable[P, R]], Callable[P, R]]


def cached_user_record(cache: EnhancedCache[Any, Any], *, arg: int = 0) -> Decorator[P, R]:
    """Cache user records by the user id at positional `arg` (1 for methods)."""
    return cached(cache, key=_args_key(arg))


def cached_premium_status(cache: EnhancedCache[Any, Any], *, arg: int = 0) -> Decorator[P, R]:
    """Cache premium status by user id; `cache.delete(user_id)` when it changes."""
    return cached(cache, key=_args_key(arg))


def cached_membership(
    cache: EnhancedCache[Any, Any], *, user_arg: int = 0, channel_arg: int = 1
) -> Decorator[P, R]:
    """Cache channel-membership checks by `(user_id, channel)`."""
    return cached(cache, key=_args_key(user_arg, channel_arg))


def cached_search_page(cache: EnhancedCache[Any, Any], *, skip: int = 0) -> Decorator[P, R]:
    """Cache search pages by every argument after the first `skip` (1 for methods).

    Results go stale when the index changes: `cache.clear()` on every index write.
    """
    return cached(cache, key=lambda *args, **kwargs: hashkey(*args[skip:], **kwargs))

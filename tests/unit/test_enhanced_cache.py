"""EnhancedCache: LRU order, TTL expiry on a fake clock, exact metrics, shared loads, decorators."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.cache.enhanced_cache import (
    EnhancedCache,
    cached,
    cached_membership,
    cached_search_page,
    cached_user_record,
    expire_all_caches,
    get_all_cache_stats,
)
from testkit.clock import VirtualClock


def test_hits_and_misses_are_counted_once_per_lookup() -> None:
    cache: EnhancedCache[str, int] = EnhancedCache("count-once", maxsize=10)
    cache.set("a", 1)
    assert cache.get("a") == 1
    assert cache.get("b") is None
    assert cache.get("b", 7) == 7
    stats = cache.stats()
    assert (stats.hits, stats.misses) == (1, 2)
    assert stats.hit_ratio == pytest.approx(1 / 3)


def test_capacity_evicts_the_least_recently_used() -> None:
    cache: EnhancedCache[str, int] = EnhancedCache("lru", maxsize=2)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.get("a")  # a is now the most recent
    cache.set("c", 3)
    assert "b" not in cache
    assert ("a" in cache, "c" in cache) == (True, True)
    assert cache.stats().evictions == 1
    assert cache.stats().expirations == 0


def test_ttl_entries_expire_on_the_injected_clock() -> None:
    clock = VirtualClock(autojump=True)
    cache: EnhancedCache[str, int] = EnhancedCache("ttl", maxsize=10, ttl=60, timer=clock)
    cache.set("a", 1)
    clock.advance(59.9)
    assert cache.get("a") == 1
    clock.advance(0.2)
    assert cache.get("a") is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.expirations, stats.evictions) == (1, 1, 1, 0)
    assert stats.size == 0


def test_ttl_caches_are_lru_bounded_too() -> None:
    clock = VirtualClock(autojump=True)
    cache: EnhancedCache[int, int] = EnhancedCache("ttl-lru", maxsize=3, ttl=60, timer=clock)
    for i in range(5):
        cache.set(i, i)
    assert len(cache) == 3
    assert cache.stats().evictions == 2


def test_periodic_cleanup_frees_entries_nobody_reads() -> None:
    clock = VirtualClock(autojump=True)
    cache: EnhancedCache[int, int] = EnhancedCache("cleanup", maxsize=100, ttl=10, timer=clock)
    for i in range(50):
        cache.set(i, i)
    clock.advance(11)
    assert expire_all_caches() >= 50
    assert cache.stats().size == 0
    assert cache.stats().expirations == 50


def test_delete_clear_and_invalidate() -> None:
    cache: EnhancedCache[object, int] = EnhancedCache("inv", maxsize=10)
    for key in ("search:dark", "search:city", "user:1", ("tuple", 1)):
        cache.set(key, 1)
    assert cache.invalidate("search:") == 2
    assert cache.invalidate(lambda k: isinstance(k, tuple)) == 1
    assert cache.delete("user:1") is True
    assert cache.delete("user:1") is False
    cache.set("x", 1)
    cache.clear()
    assert len(cache) == 0


def test_registry_returns_frozen_snapshots_by_name() -> None:
    cache: EnhancedCache[str, int] = EnhancedCache("registry-demo", maxsize=4)
    cache.set("a", 1)
    cache.get("a")
    snapshot = get_all_cache_stats()["registry-demo"]
    cache.get("a")
    assert snapshot.hits == 1  # a snapshot, not a live view
    assert get_all_cache_stats()["registry-demo"].hits == 2
    with pytest.raises(AttributeError):
        snapshot.hits = 5  # type: ignore[misc]


async def test_concurrent_misses_share_one_load() -> None:
    cache: EnhancedCache[str, int] = EnhancedCache("dedup", maxsize=10)
    calls = 0
    gate = asyncio.Event()

    async def loader() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 42

    tasks = [asyncio.create_task(cache.get_or_load("k", loader)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == [42] * 10
    assert calls == 1
    assert cache.stats().loads == 1
    assert await cache.get_or_load("k", loader) == 42
    assert calls == 1


async def test_a_failed_load_is_shared_and_not_cached() -> None:
    cache: EnhancedCache[str, int] = EnhancedCache("failing", maxsize=10)
    attempts = 0
    gate = asyncio.Event()

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        await gate.wait()
        if attempts == 1:
            raise ConnectionError("database down")
        return 7

    first = [asyncio.create_task(cache.get_or_load("k", flaky)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*first, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert "k" not in cache
    assert await cache.get_or_load("k", flaky) == 7
    stats = cache.stats()
    assert (stats.load_failures, stats.loads) == (1, 1)


async def test_a_cancelled_loader_lets_a_waiter_load_instead() -> None:
    cache: EnhancedCache[str, int] = EnhancedCache("cancel", maxsize=10)
    never = asyncio.Event()

    async def stuck() -> int:
        await never.wait()
        return 0

    async def quick() -> int:
        return 5

    owner = asyncio.create_task(cache.get_or_load("k", stuck))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.get_or_load("k", quick))
    await asyncio.sleep(0)
    owner.cancel()
    assert await waiter == 5


async def test_decorators_cache_async_and_sync_functions() -> None:
    cache: EnhancedCache[object, object] = EnhancedCache("deco", maxsize=10)
    calls: list[object] = []

    @cached(cache)
    async def lookup(user_id: int) -> str:
        calls.append(user_id)
        return f"user{user_id}"

    @cached(cache, key=lambda x: ("square", x))
    def square(x: int) -> int:
        calls.append(("sq", x))
        return x * x

    assert await lookup(1) == "user1"
    assert await lookup(1) == "user1"
    assert square(3) == 9
    assert square(3) == 9
    assert calls == [1, ("sq", 3)]


async def test_specialised_decorators_key_by_what_matters() -> None:
    users: EnhancedCache[object, object] = EnhancedCache("users-deco", maxsize=10)
    members: EnhancedCache[object, object] = EnhancedCache("members-deco", maxsize=10)
    pages: EnhancedCache[object, object] = EnhancedCache("pages-deco", maxsize=10)

    class Service:
        @cached_user_record(users, arg=1)
        async def user(self, user_id: int) -> str:
            return f"u{user_id}"

        @cached_search_page(pages, skip=1)
        async def page(self, query: str, number: int) -> str:
            return f"{query}#{number}"

    @cached_membership(members)
    async def is_member(user_id: int, channel: int) -> bool:
        return user_id % 2 == 0

    service = Service()
    assert await service.user(5) == "u5"
    assert 5 in users
    assert await is_member(4, -100) is True
    assert (4, -100) in members
    assert await service.page("dark city", 2) == "dark city#2"
    assert pages.stats().size == 1


# --- model-based test of LRU order and TTL expiry ------------------------------------------------

KEYS = st.sampled_from(list("abcdef"))


class CacheModel(RuleBasedStateMachine):
    """EnhancedCache against a dict-plus-order model with explicit expiry times."""

    MAXSIZE = 3
    TTL = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock(autojump=True)
        self.cache: EnhancedCache[str, int] = EnhancedCache(
            "model", maxsize=self.MAXSIZE, ttl=self.TTL, timer=self.clock
        )
        self.model: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key → (value, expires)
        self.hits = 0
        self.misses = 0

    def _expire_model(self) -> None:
        for key in [k for k, (_, exp) in self.model.items() if exp <= self.clock.monotonic()]:
            del self.model[key]

    @rule(key=KEYS, value=st.integers())
    def set(self, key: str, value: int) -> None:
        self._expire_model()
        self.cache.set(key, value)
        self.model[key] = (value, self.clock.monotonic() + self.TTL)
        self.model.move_to_end(key)
        while len(self.model) > self.MAXSIZE:
            self.model.popitem(last=False)

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        found = self.cache.get(key)
        entry = self.model.get(key)
        if entry is not None and entry[1] > self.clock.monotonic():
            assert found == entry[0]
            self.model.move_to_end(key)
            self.hits += 1
        else:
            assert found is None
            self.misses += 1
            self._expire_model()

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self._expire_model()
        assert self.cache.delete(key) == (key in self.model)
        self.model.pop(key, None)

    @rule(seconds=st.floats(min_value=0, max_value=15))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: True)
    @rule()
    def expire(self) -> None:
        self.cache.expire()
        self._expire_model()

    @invariant()
    def same_live_keys_and_counts(self) -> None:
        live = {k for k, (_, exp) in self.model.items() if exp > self.clock.monotonic()}
        assert {k for k in "abcdef" if k in self.cache} == live
        stats = self.cache.stats()
        assert (stats.hits, stats.misses) == (self.hits, self.misses)
        assert stats.size <= self.MAXSIZE


TestCacheModel = CacheModel.TestCase
TestCacheModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_a_value_read_before_a_drop_is_not_kept() -> None:
    """`set(..., unless_changed_since=n)`: a value read from its source while `changes` was `n`
    is kept only if nothing was dropped meanwhile (delete, even of an absent key; clear;
    invalidate)."""
    cache: EnhancedCache[str, int] = EnhancedCache("changes-demo", maxsize=10)
    since = cache.changes
    cache.set("a", 1, unless_changed_since=since)
    assert cache.get("a") == 1
    for drop in (
        lambda: cache.delete("absent"),
        cache.clear,
        lambda: cache.invalidate("x"),
        lambda: cache.invalidate_where(lambda _k, _v: False),
    ):
        since = cache.changes
        drop()
        cache.set("b", 2, unless_changed_since=since)
        assert cache.get("b") is None
    cache.set("b", 2)  # without the guard: kept
    assert cache.get("b") == 2

"""Token buckets: one for pacing Telegram calls, and a per-user limiter for incoming updates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.cache.enhanced_cache import EnhancedCache

__all__ = ["RateDecision", "TokenBucket", "UserRateLimiter"]


class TokenBucket:
    """A reservation-style token bucket: `reserve()` takes a token and says how long to wait."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be positive and capacity at least 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        return self._tokens

    def reserve(self) -> float:
        """Take a token now, even if it is not there yet; return the seconds until it is."""
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def try_take(self) -> float:
        """Take a token if one is available (returns 0), else take nothing and return the wait."""
        if self._refill() >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    notify: bool = False  # first refusal in a window: tell the user once, then stay quiet
    retry_after: float = 0.0


_ALLOWED = RateDecision(allowed=True)  # the common answer, built once (this runs per update)


@dataclass(slots=True)
class _UserState:
    bucket: TokenBucket
    warned: bool = False


class UserRateLimiter:
    """`burst` updates at once, refilled at `per_minute`; flooders are told once per window."""

    def __init__(self, *, per_minute: float, burst: int, clock: Callable[[], float]) -> None:
        self._rate = per_minute / 60
        self._burst = burst
        self._clock = clock
        # LRU without TTL: an idle user's bucket is simply full again when next computed, so
        # stale entries are harmless and the bound on entries bounds the memory.
        self._states: EnhancedCache[int, _UserState] = EnhancedCache("rate_limits", maxsize=100_000)

    def hit(self, user_id: int) -> RateDecision:
        state = self._states.get(user_id)
        if state is None:
            state = _UserState(TokenBucket(self._rate, self._burst, self._clock))
            self._states.set(user_id, state)
        wait = state.bucket.try_take()
        if wait == 0:
            state.warned = False
            return _ALLOWED
        notify = not state.warned
        state.warned = True
        return RateDecision(allowed=False, notify=notify, retry_after=wait)

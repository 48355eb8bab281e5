"""Users as the bot sees them: recorded on every interaction, counted, banned and given premium
plans by admins."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.cache.enhanced_cache import EnhancedCache
from core.clock import Clock
from core.models import User, UserTally
from services.ports import DailyCounterRepository, UserRepository

__all__ = [
    "ACTIVITY_FLUSH_SECONDS",
    "ANY_BANNED_SECONDS",
    "FOREVER",
    "REMIND_BEFORE",
    "PlanChange",
    "UserService",
]

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
"""The end of a plan granted "forever"."""
ACTIVE_DAYS = 7
ACTIVITY_FLUSH_SECONDS = 5.0
"""How often the searches and downloads counted in memory are written (at most this much of
them is lost when the process is killed)."""
ANY_BANNED_SECONDS = 5.0
"""How long the answer to "is anyone banned?" is kept (inline answers are personal while anyone
is): a ban or unban through this service is seen at once, one made on another instance within
this long, as another instance's change to a file is (the search index's catch-up)."""
REMIND_BEFORE = timedelta(days=1)
"""A plan's holder is reminded this long before it ends."""
LIST_LIMIT = 50


@dataclass(frozen=True, slots=True)
class PlanChange:
    """What `/premium add` did: the user after it and whether a plan was already running."""

    user: User
    extended: bool


class UserService:
    def __init__(
        self,
        users: UserRepository,
        clock: Clock,
        *,
        daily: DailyCounterRepository | None = None,
        touch_seconds: float = 300.0,
        on_new: Callable[[User], None] | None = None,
    ) -> None:
        self._users = users
        self._clock = clock
        self._daily = daily
        self._on_new = on_new  # a user's first message (the log channel hears of it)
        # Who was written recently, with the name written: one upsert per user per
        # `touch_seconds` (or sooner when the name changes), not one per update.
        self._touched: EnhancedCache[int, tuple[str, str | None]] = EnhancedCache(
            "users_seen", maxsize=100_000, ttl=touch_seconds, timer=clock.monotonic
        )
        self._activity: dict[int, Counter[str]] = {}  # user → searches/downloads not written
        self._daily_counts: dict[str, tuple[datetime, Counter[str]]] = {}  # day → (when, counts)
        self._anyone_banned: EnhancedCache[str, bool] = EnhancedCache(
            "anyone_banned", maxsize=1, ttl=ANY_BANNED_SECONDS, timer=clock.monotonic
        )

    async def interacted(self, user_id: int, first_name: str, username: str | None) -> None:
        """Called for every update that has a user: upserts the user unless that was done
        recently with the same name (the middleware calls it before any handler)."""
        if self._touched.get(user_id) == (first_name, username):
            return
        await self.seen(user_id, first_name, username)

    async def seen(self, user_id: int, first_name: str, username: str | None) -> User:
        """Upsert the user's name and last-seen time (and clear a stale blocked flag)."""
        user = await self._users.touch(user_id, first_name, username, self._clock.now())
        self._touched.set(user_id, (first_name, username))
        if self._on_new is not None and user.joined_at == user.last_seen:
            self._on_new(user)
        return user

    async def mark_blocked(self, user_id: int) -> None:
        """Telegram said the user blocked the bot or deleted the account; the flag clears the
        next time they write (`seen`)."""
        await self._users.mark_blocked(user_id)
        self._touched.delete(user_id)

    def now(self) -> datetime:
        """The app's clock (what plans and bans are measured against)."""
        return self._clock.now()

    async def get(self, user_id: int) -> User | None:
        return await self._users.get(user_id)

    async def current(self, user_id: int) -> User | None:
        """The user's record with their searches and downloads as of now (for admins)."""
        await self.flush()
        return await self._users.get(user_id)

    async def find(self, ref: str) -> User | None:
        """The user an admin names: a numeric id or an @username the bot has seen."""
        text = ref.strip()
        await self.flush()  # an admin looks at a user: their counts as of now
        if text.lstrip("-").isdigit():
            return await self._users.get(int(text))
        return await self._users.by_username(text) if text.startswith("@") else None

    async def any_banned(self) -> bool:
        """Whether anyone is banned, read at most every `ANY_BANNED_SECONDS`."""
        kept = self._anyone_banned.get("anyone")
        if kept is not None:
            return kept
        since = self._anyone_banned.changes  # a ban here meanwhile: this read is not kept
        answer = await self._users.any_banned()
        self._anyone_banned.set("anyone", answer, unless_changed_since=since)
        return answer

    async def count(self) -> int:
        return await self._users.count()

    async def tally(self) -> UserTally:
        now = self._clock.now()
        return await self._users.tally(now, now - timedelta(days=ACTIVE_DAYS))

    async def today(self) -> dict[str, int]:
        """Searches and deliveries counted today (UTC)."""
        if self._daily is None:
            return {}
        await self.flush()
        return await self._daily.day(self._clock.now())

    # --- activity ---------------------------------------------------------------------------
    # Counted in memory and written by `flush` (every ACTIVITY_FLUSH_SECONDS, at a clean stop,
    # and before an admin reads them): a search or a download writes nothing itself. A crash
    # loses at most the counts of that window; a failed flush keeps them for the next one.

    async def searched(self, user_id: int) -> None:
        self._count(user_id, "searches", "searches")

    async def downloaded(self, user_id: int) -> None:
        self._count(user_id, "downloads", "deliveries")

    def _count(self, user_id: int, field: str, event: str) -> None:
        self._activity.setdefault(user_id, Counter())[field] += 1
        now = self._clock.now()
        day = now.strftime("%Y-%m-%d")
        counts = self._daily_counts.setdefault(day, (now, Counter()))[1]
        counts[event] += 1

    async def flush(self) -> None:
        """Write the counts kept since the last flush: one bulk write for the users, one
        write per day for the daily counters."""
        activity, self._activity = self._activity, {}
        daily, self._daily_counts = self._daily_counts, {}
        try:
            if activity:
                await self._users.add_activity(activity)
                activity = {}
            while daily and self._daily is not None:
                day, (at, counts) = next(iter(daily.items()))
                await self._daily.add(counts, at)
                del daily[day]
        finally:  # what was not written is counted again with what came meanwhile
            for user_id, fields in activity.items():
                self._activity.setdefault(user_id, Counter()).update(fields)
            for day, (at, counts) in daily.items():
                self._daily_counts.setdefault(day, (at, Counter()))[1].update(counts)

    # --- bans --------------------------------------------------------------------------------

    async def ban(self, user_id: int, reason: str, by: int) -> tuple[User, bool]:
        """Ban `user_id` (recorded even if they never wrote); True when they were not banned."""
        before = await self._users.get(user_id)
        if before is not None and before.banned is not None:
            return before, False
        banned = await self._users.ban(user_id, reason, by, self._clock.now())
        self._anyone_banned.clear()
        return banned, True

    async def unban(self, user_id: int) -> bool:
        unbanned = await self._users.unban(user_id)
        self._anyone_banned.clear()
        return unbanned

    async def banned(self) -> list[User]:
        return await self._users.banned(LIST_LIMIT)

    # --- premium plans -----------------------------------------------------------------------

    async def grant_premium(self, user_id: int, length: timedelta | None) -> PlanChange:
        """Start a plan of `length` (None: forever), or extend the running one by it."""
        now = self._clock.now()
        user = await self._users.get(user_id)
        running = user is not None and user.is_premium(now)
        start = user.premium_until if running and user and user.premium_until else now
        until = FOREVER if length is None else min(FOREVER, start + length)
        if start >= FOREVER:
            until = FOREVER
        # A plan that ends within a day needs no "ends tomorrow" reminder: its start said when.
        soon = "ends_soon" if until - now <= REMIND_BEFORE else None
        updated = await self._users.set_premium_until(user_id, until, now=now, notice=soon)
        if updated is None:  # pragma: no cover - `now` makes the repository upsert
            raise RuntimeError("the premium plan was not stored")
        return PlanChange(updated, extended=running)

    async def revoke_premium(self, user_id: int) -> User | None:
        """End the user's plan now; None when they had no running plan."""
        user = await self._users.get(user_id)
        if user is None or not user.is_premium(self._clock.now()):
            return None
        return await self._users.set_premium_until(user_id, None)

    async def premium(self) -> list[User]:
        return await self._users.premium(self._clock.now(), LIST_LIMIT)

    def all_users(self) -> AsyncIterator[User]:
        return self._users.all_users()

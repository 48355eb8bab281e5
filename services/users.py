"""Users as the bot sees them: recorded on every interaction, counted, banned and given premium
plans by admins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.cache.enhanced_cache import EnhancedCache
from core.clock import Clock
from core.models import User, UserTally
from services.ports import DailyCounterRepository, UserRepository

__all__ = ["FOREVER", "REMIND_BEFORE", "PlanChange", "UserService"]

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
"""The end of a plan granted "forever"."""
ACTIVE_DAYS = 7
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

    async def find(self, ref: str) -> User | None:
        """The user an admin names: a numeric id or an @username the bot has seen."""
        text = ref.strip()
        if text.lstrip("-").isdigit():
            return await self._users.get(int(text))
        return await self._users.by_username(text) if text.startswith("@") else None

    async def any_banned(self) -> bool:
        return await self._users.any_banned()

    async def count(self) -> int:
        return await self._users.count()

    async def tally(self) -> UserTally:
        now = self._clock.now()
        return await self._users.tally(now, now - timedelta(days=ACTIVE_DAYS))

    async def today(self) -> dict[str, int]:
        """Searches and deliveries counted today (UTC)."""
        if self._daily is None:
            return {}
        return await self._daily.day(self._clock.now())

    # --- activity ---------------------------------------------------------------------------

    async def searched(self, user_id: int) -> None:
        await self._users.count_activity(user_id, "searches")
        if self._daily is not None:
            await self._daily.add("searches", self._clock.now())

    async def downloaded(self, user_id: int) -> None:
        await self._users.count_activity(user_id, "downloads")
        if self._daily is not None:
            await self._daily.add("deliveries", self._clock.now())

    # --- bans --------------------------------------------------------------------------------

    async def ban(self, user_id: int, reason: str, by: int) -> tuple[User, bool]:
        """Ban `user_id` (recorded even if they never wrote); True when they were not banned."""
        before = await self._users.get(user_id)
        if before is not None and before.banned is not None:
            return before, False
        return await self._users.ban(user_id, reason, by, self._clock.now()), True

    async def unban(self, user_id: int) -> bool:
        return await self._users.unban(user_id)

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

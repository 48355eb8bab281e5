"""Users as the bot sees them: recorded on every interaction, counted for admins."""

from __future__ import annotations

from core.cache.enhanced_cache import EnhancedCache
from core.clock import Clock
from core.models import User
from repositories.users import UserRepository

__all__ = ["UserService"]


class UserService:
    def __init__(
        self, users: UserRepository, clock: Clock, *, touch_seconds: float = 300.0
    ) -> None:
        self._users = users
        self._clock = clock
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
        return user

    async def mark_blocked(self, user_id: int) -> None:
        """Telegram said the user blocked the bot or deleted the account; the flag clears the
        next time they write (`seen`)."""
        await self._users.mark_blocked(user_id)
        self._touched.delete(user_id)

    async def get(self, user_id: int) -> User | None:
        return await self._users.get(user_id)

    async def any_banned(self) -> bool:
        return await self._users.any_banned()

    async def count(self) -> int:
        return await self._users.count()

"""Users as the bot sees them: recorded on every interaction, counted for admins."""

from __future__ import annotations

from core.clock import Clock
from core.models import User
from repositories.users import UserRepository

__all__ = ["UserService"]


class UserService:
    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self._users = users
        self._clock = clock

    async def seen(self, user_id: int, first_name: str, username: str | None) -> User:
        """Upsert the user's name and last-seen time (and clear a stale blocked flag)."""
        return await self._users.touch(user_id, first_name, username, self._clock.now())

    async def get(self, user_id: int) -> User | None:
        return await self._users.get(user_id)

    async def count(self) -> int:
        return await self._users.count()

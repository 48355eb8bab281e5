"""What `/stats` shows: users, uptime and which database the bot runs on."""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock
from core.services.users import UserService

__all__ = ["BotStats", "StatsService"]


@dataclass(frozen=True, slots=True)
class BotStats:
    users: int
    uptime_seconds: float
    database: str  # "embedded" or "external"


class StatsService:
    def __init__(self, users: UserService, clock: Clock, *, database: str) -> None:
        self._users = users
        self._clock = clock
        self._started_at = clock.monotonic()
        self._database = database

    async def snapshot(self) -> BotStats:
        return BotStats(
            users=await self._users.count(),
            uptime_seconds=self._clock.monotonic() - self._started_at,
            database=self._database,
        )

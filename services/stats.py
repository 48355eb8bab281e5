"""What `/stats` shows: files, channels, users, groups, today's activity, storage, caches,
uptime and version."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from core.cache.enhanced_cache import CacheStats, get_all_cache_stats
from core.clock import Clock
from core.models import UserTally
from services.users import UserService

__all__ = ["BotStats", "StatsService", "StatsSources", "version"]


def version() -> str:
    try:
        return importlib.metadata.version("filesearch-bot")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


@dataclass(frozen=True, slots=True)
class BotStats:
    users: int
    uptime_seconds: float
    database: str  # "embedded" or "external"
    version: str = ""
    tally: UserTally | None = None
    files: int | None = None
    files_by_kind: Mapping[str, int] = field(default_factory=dict)
    channels: int | None = None
    groups: int | None = None
    today: Mapping[str, int] = field(default_factory=dict)
    data_bytes: int | None = None
    index_bytes: int | None = None
    search_index_bytes: int | None = None
    caches: Mapping[str, CacheStats] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatsSources:
    """Where the counts come from (each optional: `/stats` shows what it can read)."""

    files: Callable[[], Awaitable[int]] | None = None
    census: Callable[[], Awaitable[tuple[Mapping[str, int], int] | None]] | None = None
    channels: Callable[[], Awaitable[int]] | None = None
    groups: Callable[[], Awaitable[int]] | None = None
    sizes: Callable[[], Awaitable[tuple[int, int]]] | None = None


class StatsService:
    def __init__(
        self,
        users: UserService,
        clock: Clock,
        *,
        database: str,
        sources: StatsSources | None = None,
    ) -> None:
        self._users = users
        self._clock = clock
        self._started_at = clock.monotonic()
        self._database = database
        self._sources = sources or StatsSources()

    async def snapshot(self) -> BotStats:
        src = self._sources
        tally = await self._users.tally()
        census = await src.census() if src.census else None
        sizes = await src.sizes() if src.sizes else None
        return BotStats(
            users=tally.total,
            uptime_seconds=self._clock.monotonic() - self._started_at,
            database=self._database,
            version=version(),
            tally=tally,
            files=await src.files() if src.files else None,
            files_by_kind=census[0] if census else {},
            search_index_bytes=census[1] if census else None,
            channels=await src.channels() if src.channels else None,
            groups=await src.groups() if src.groups else None,
            today=await self._users.today(),
            data_bytes=sizes[0] if sizes else None,
            index_bytes=sizes[1] if sizes else None,
            caches=get_all_cache_stats(),
        )

"""The `daily` collection: searches and deliveries counted per UTC day, for `/stats`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from repositories.mongo import Database, storage_errors

__all__ = ["DAILY_EVENTS", "MongoDailyCounterRepository"]

DAILY_EVENTS = ("searches", "deliveries")


class MongoDailyCounterRepository:
    """One document per day, `_id` "YYYY-MM-DD" (UTC), one counter per event."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _daily(self) -> Any:
        return self._database.collection("daily")

    async def add(self, counts: Mapping[str, int], now: datetime) -> None:
        """Add to `now`'s day counters (several events in one write)."""
        if not set(counts) <= set(DAILY_EVENTS):
            raise ValueError(f"unknown daily events in {sorted(counts)}")
        if not any(counts.values()):
            return
        with storage_errors("daily.add"):
            await self._daily.update_one(
                {"_id": now.strftime("%Y-%m-%d")}, {"$inc": dict(counts)}, upsert=True
            )

    async def day(self, now: datetime) -> dict[str, int]:
        """The counters of `now`'s day (zero for events that did not happen)."""
        with storage_errors("daily.day"):
            doc = await self._daily.find_one({"_id": now.strftime("%Y-%m-%d")}) or {}
        return {event: int(doc.get(event, 0)) for event in DAILY_EVENTS}

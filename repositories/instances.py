"""The `instances` collection: which process runs a bot token now (one document per bot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from core.models import Holder
from repositories.mongo import Database, storage_errors

__all__ = ["MongoInstanceRepository"]


class MongoInstanceRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _instances(self) -> Any:
        return self._database.collection("instances")

    async def acquire(
        self, bot: str, owner: str, now: datetime, until: datetime, *, force: bool
    ) -> Holder | None:
        """Take the lease of `bot` if it is free, lapsed, ours, or `force`d; else the holder."""
        query: dict[str, Any] = {"_id": bot}
        if not force:
            query["$or"] = [{"lease_until": {"$lt": now}}, {"owner": owner}]
        update = {"$set": {"owner": owner, "since": now, "lease_until": until}}
        with storage_errors("instances.acquire"):
            try:
                await self._instances.update_one(query, update, upsert=True)
            except DuplicateKeyError:  # held by someone else, whose lease is still running
                doc = await self._instances.find_one({"_id": bot})
                if doc is None:  # released in between: try once more
                    await self._instances.update_one(query, update, upsert=True)
                    return None
                return Holder(str(doc["owner"]), doc["since"], doc["lease_until"])
        return None

    async def renew(self, bot: str, owner: str, until: datetime) -> bool:
        """Extend our lease; False when another process took it over."""
        with storage_errors("instances.renew"):
            result = await self._instances.update_one(
                {"_id": bot, "owner": owner}, {"$set": {"lease_until": until}}
            )
        return bool(result.matched_count)

    async def release(self, bot: str, owner: str) -> None:
        with storage_errors("instances.release"):
            await self._instances.delete_one({"_id": bot, "owner": owner})

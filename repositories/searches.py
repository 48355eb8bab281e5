"""The `searches` collection: short tokens for query keys, so page buttons fit in 64 bytes and
still work after a restart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoSearchKeyRepository"]

INDEXES = (IndexSpec.on("searches", "used_at"),)


class MongoSearchKeyRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _searches(self) -> Any:
        return self._database.collection("searches")

    async def remember(self, token: str, key: str, text: str, now: datetime) -> None:
        """Store the canonical key and the text as the user typed it (for display)."""
        with storage_errors("searches.remember"):
            await self._searches.update_one(
                {"_id": token}, {"$set": {"key": key, "text": text, "used_at": now}}, upsert=True
            )

    async def key(self, token: str) -> tuple[str, str] | None:
        """(key, typed text) for a token."""
        with storage_errors("searches.key"):
            doc = await self._searches.find_one({"_id": token})
        return (str(doc["key"]), str(doc.get("text") or doc["key"])) if doc else None

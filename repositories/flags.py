"""The `flags` collection: feature flags as admins set them (`/flag`), one document each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repositories.mongo import Database, storage_errors

__all__ = ["MongoFlagRepository"]


class MongoFlagRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _flags(self) -> Any:
        return self._database.collection("flags")

    async def all(self) -> dict[str, dict[str, Any]]:
        with storage_errors("flags.all"):
            return {str(d["_id"]): d async for d in self._flags.find({})}

    async def save(self, name: str, fields: dict[str, Any], by: int, now: datetime) -> None:
        with storage_errors("flags.save"):
            await self._flags.update_one(
                {"_id": name},
                {"$set": {**fields, "updated_by": by, "updated_at": now}},
                upsert=True,
            )

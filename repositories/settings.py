"""The `settings` collection: runtime values that must survive restarts (secrets, flags)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from repositories.mongo import Database, storage_errors

__all__ = ["MongoSettingsRepository"]


class MongoSettingsRepository:
    """Key → value documents `{_id: key, value: ...}`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, key: str) -> Any:
        with storage_errors("settings.get"):
            doc = await self._database.collection("settings").find_one({"_id": key})
        return doc["value"] if doc else None

    async def set(self, key: str, value: Any) -> None:
        with storage_errors("settings.set"):
            await self._database.collection("settings").update_one(
                {"_id": key}, {"$set": {"value": value}}, upsert=True
            )

    async def get_or_create(self, key: str, factory: Callable[[], Any]) -> Any:
        """The stored value, or `factory()` stored now; concurrent creators agree on one value."""
        existing = await self.get(key)
        if existing is not None:
            return existing
        try:
            with storage_errors("settings.get_or_create"):
                await self._database.collection("settings").insert_one(
                    {"_id": key, "value": factory()}
                )
        except Exception as exc:
            if not isinstance(exc.__cause__, DuplicateKeyError):
                raise
        return await self.get(key)

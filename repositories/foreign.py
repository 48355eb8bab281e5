"""Another bot's MongoDB collection, read in `_id` order (what `python bot.py import` reads)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from repositories.mongo import Database, storage_errors

__all__ = ["MongoSourceFiles"]


class MongoSourceFiles:
    """`SourceFiles` on a collection of any MongoDB database; read only."""

    def __init__(self, database: Database, collection: str) -> None:
        self._database = database
        self.collection = collection

    async def count(self) -> int:
        with storage_errors(f"source {self.collection}.count"):
            return int(await self._database.collection(self.collection).estimated_document_count())

    async def page(self, after: Any, limit: int) -> list[Mapping[str, Any]]:
        query = {} if after is None else {"_id": {"$gt": after}}
        with storage_errors(f"source {self.collection}.read"):
            docs = (
                await self._database.collection(self.collection)
                .find(query)
                .sort("_id", 1)
                .limit(limit)
                .to_list(None)
            )
        return list(docs)

    async def collections(self) -> list[str]:
        """The database's collection names (to help an operator who named the wrong one)."""
        with storage_errors("source list_collection_names"):
            return sorted(await self._database.db.list_collection_names())

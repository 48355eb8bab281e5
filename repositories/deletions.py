"""The `deletions` collection: delivered messages to delete when due (auto-delete)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.models import DeletionRecord
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoDeletionRepository"]

INDEXES = (IndexSpec.on("deletions", "due_at"),)


class MongoDeletionRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _deletions(self) -> Any:
        return self._database.collection("deletions")

    async def schedule(
        self, chat_id: int, message_id: int, due_at: datetime, *, notify: bool = True
    ) -> DeletionRecord:
        """Idempotent: one record per message, keyed `chat_id:message_id`."""
        record = DeletionRecord(f"{chat_id}:{message_id}", chat_id, message_id, due_at, notify)
        with storage_errors("deletions.schedule"):
            await self._deletions.update_one(
                {"_id": record.id},
                {
                    "$set": {
                        "chat_id": chat_id,
                        "message_id": message_id,
                        "due_at": due_at,
                        "notify": notify,
                    }
                },
                upsert=True,
            )
        return record

    async def due(self, now: datetime, limit: int) -> list[DeletionRecord]:
        """Due records, oldest first: one range predicate on the `due_at` index."""
        with storage_errors("deletions.due"):
            docs = (
                await self._deletions.find({"due_at": {"$lte": now}})
                .sort("due_at", 1)
                .limit(limit)
                .to_list(None)
            )
        return [_from_doc(d) for d in docs]

    async def remove(self, ids: Sequence[str]) -> int:
        with storage_errors("deletions.remove"):
            result = await self._deletions.delete_many({"_id": {"$in": list(ids)}})
        return int(result.deleted_count)

    async def pending(self) -> int:
        with storage_errors("deletions.pending"):
            return int(await self._deletions.estimated_document_count())


def _from_doc(doc: dict[str, Any]) -> DeletionRecord:
    return DeletionRecord(
        id=doc["_id"],
        chat_id=int(doc["chat_id"]),
        message_id=int(doc["message_id"]),
        due_at=doc["due_at"],
        notify=bool(doc.get("notify", True)),
    )

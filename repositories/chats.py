"""The `chats` collection: groups and channels the bot is in, with per-chat settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from core.models import ChatRecord
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoChatRepository"]

INDEXES = (IndexSpec.on("chats", "active"),)


class MongoChatRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _chats(self) -> Any:
        return self._database.collection("chats")

    async def upsert(self, chat_id: int, title: str, kind: str, now: datetime) -> ChatRecord:
        with storage_errors("chats.upsert"):
            doc = await self._chats.find_one_and_update(
                {"_id": chat_id},
                {
                    "$set": {"title": title, "kind": kind, "active": True},
                    "$setOnInsert": {"settings": {}, "joined_at": now},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return _from_doc(doc)

    async def get(self, chat_id: int) -> ChatRecord | None:
        with storage_errors("chats.get"):
            doc = await self._chats.find_one({"_id": chat_id})
        return _from_doc(doc) if doc else None

    async def set_setting(self, chat_id: int, key: str, value: object) -> ChatRecord | None:
        with storage_errors("chats.set_setting"):
            doc = await self._chats.find_one_and_update(
                {"_id": chat_id},
                {"$set": {f"settings.{key}": value}},
                return_document=ReturnDocument.AFTER,
            )
        return _from_doc(doc) if doc else None

    async def mark_left(self, chat_id: int) -> bool:
        with storage_errors("chats.mark_left"):
            result = await self._chats.update_one({"_id": chat_id}, {"$set": {"active": False}})
        return bool(result.modified_count)

    async def count_active(self) -> int:
        with storage_errors("chats.count_active"):
            return int(await self._chats.count_documents({"active": True}))

    async def all_chats(self) -> AsyncIterator[ChatRecord]:
        """Every chat recorded, by id (for the CSV export)."""
        with storage_errors("chats.all_chats"):
            async for doc in self._chats.find({}).sort("_id", 1):
                yield _from_doc(doc)


def _from_doc(doc: dict[str, Any]) -> ChatRecord:
    return ChatRecord(
        id=int(doc["_id"]),
        title=str(doc.get("title", "")),
        kind=str(doc.get("kind", "")),
        settings=dict(doc.get("settings") or {}),
        joined_at=doc["joined_at"],
        active=bool(doc.get("active", True)),
    )

"""The `links` collection: unguessable deep-link codes to files or channel message ranges."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from core.models import LinkRecord
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoLinkRepository", "new_link_code"]

INDEXES = (IndexSpec.on("links", "created_by"),)


def new_link_code() -> str:
    """12 url-safe characters (72 random bits): valid as a /start payload, never guessable."""
    return secrets.token_urlsafe(9)


class MongoLinkRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _links(self) -> Any:
        return self._database.collection("links")

    async def create(
        self,
        *,
        created_by: int,
        now: datetime,
        file_ids: Sequence[str] = (),
        chat_id: int | None = None,
        first_message_id: int | None = None,
        last_message_id: int | None = None,
        premium: str | None = None,
        expires_at: datetime | None = None,
        max_uses: int | None = None,
    ) -> LinkRecord:
        doc = {
            "_id": new_link_code(),
            "file_ids": list(file_ids),
            "chat_id": chat_id,
            "first_message_id": first_message_id,
            "last_message_id": last_message_id,
            "premium": premium,
            "created_by": created_by,
            "created_at": now,
            "expires_at": expires_at,
            "max_uses": max_uses,
            "uses": 0,
        }
        with storage_errors("links.create"):
            await self._links.insert_one(doc)
        return _from_doc(doc)

    async def get(self, code: str) -> LinkRecord | None:
        with storage_errors("links.get"):
            doc = await self._links.find_one({"_id": code})
        return _from_doc(doc) if doc else None

    async def record_use(self, code: str) -> LinkRecord | None:
        """Count one use; the caller checks `usable()` first (a race may pass the cap by one)."""
        with storage_errors("links.record_use"):
            doc = await self._links.find_one_and_update(
                {"_id": code}, {"$inc": {"uses": 1}}, return_document=ReturnDocument.AFTER
            )
        return _from_doc(doc) if doc else None

    async def claim_use(self, code: str, max_uses: int | None) -> bool:
        """Count one use unless the link is used up (atomically: two users opening the last use
        of a link at once get it once between them)."""
        query: dict[str, Any] = {"_id": code}
        if max_uses is not None:
            query["uses"] = {"$lt": max_uses}
        with storage_errors("links.claim_use"):
            result = await self._links.update_one(query, {"$inc": {"uses": 1}})
        return bool(result.modified_count)

    async def by_creator(self, created_by: int, limit: int) -> list[LinkRecord]:
        """An admin's links, newest first."""
        with storage_errors("links.by_creator"):
            cursor = self._links.find({"created_by": created_by}).sort("created_at", -1)
            docs = await cursor.to_list(limit)
        return [_from_doc(d) for d in docs]

    async def delete(self, code: str) -> bool:
        with storage_errors("links.delete"):
            result = await self._links.delete_one({"_id": code})
        return bool(result.deleted_count)


def _from_doc(doc: dict[str, Any]) -> LinkRecord:
    return LinkRecord(
        code=doc["_id"],
        file_ids=tuple(doc.get("file_ids") or ()),
        chat_id=doc.get("chat_id"),
        first_message_id=doc.get("first_message_id"),
        last_message_id=doc.get("last_message_id"),
        premium=doc.get("premium"),
        created_by=int(doc["created_by"]),
        created_at=doc["created_at"],
        expires_at=doc.get("expires_at"),
        max_uses=doc.get("max_uses"),
        uses=int(doc.get("uses", 0)),
    )

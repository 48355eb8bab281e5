"""The `join_requests` collection: pending requests to join a force-subscribe channel.

In `AUTH_MODE=request` a pending request counts as a subscription. Telegram tells the bot when a
user asks to join (the bot must be an admin of the channel); it does not tell it when an admin
declines, so a request stays recorded until the user is found to be a member, or is kicked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoJoinRequestRepository"]

INDEXES = (IndexSpec.on("join_requests", "user_id"),)


class MongoJoinRequestRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _requests(self) -> Any:
        return self._database.collection("join_requests")

    async def record(self, chat_id: int, user_id: int, now: datetime) -> None:
        """Idempotent: asking twice keeps one record (with the first time asked)."""
        with storage_errors("join_requests.record"):
            await self._requests.update_one(
                {"_id": f"{chat_id}:{user_id}"},
                {"$setOnInsert": {"chat_id": chat_id, "user_id": user_id, "at": now}},
                upsert=True,
            )

    async def pending(self, user_id: int) -> frozenset[int]:
        """The chats this user has a recorded request for (one equality on an index)."""
        with storage_errors("join_requests.pending"):
            docs = await self._requests.find({"user_id": user_id}, {"chat_id": 1}).to_list(None)
        return frozenset(int(d["chat_id"]) for d in docs)

    async def forget(self, chat_id: int, user_id: int) -> None:
        with storage_errors("join_requests.forget"):
            await self._requests.delete_one({"_id": f"{chat_id}:{user_id}"})

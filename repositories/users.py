"""The `users` collection: who talked to the bot, bans, premium expiry, blocked-bot flags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ReturnDocument

from core.models import BanRecord, User
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoUserRepository", "UserRepository"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

INDEXES = (
    IndexSpec.on("users", "premium_until", sparse=True),
    IndexSpec.on("users", "banned.at", sparse=True),
    IndexSpec.on("users", "last_seen"),
)


class UserRepository(Protocol):
    async def touch(
        self, user_id: int, first_name: str, username: str | None, now: datetime
    ) -> User: ...
    async def get(self, user_id: int) -> User | None: ...
    async def ban(self, user_id: int, reason: str, by: int, now: datetime) -> User: ...
    async def unban(self, user_id: int) -> bool: ...
    async def set_premium_until(self, user_id: int, until: datetime | None) -> User | None: ...
    async def mark_blocked(self, user_id: int, *, blocked: bool = True) -> None: ...
    async def count(self) -> int: ...
    async def any_banned(self) -> bool: ...


class MongoUserRepository:
    """`UserRepository` on MongoDB; `_id` is the Telegram user id."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _users(self) -> Any:
        return self._database.collection("users")

    async def touch(
        self, user_id: int, first_name: str, username: str | None, now: datetime
    ) -> User:
        """Upsert on every interaction: name and last seen; a message means not blocked."""
        with storage_errors("users.touch"):
            doc = await self._users.find_one_and_update(
                {"_id": user_id},
                {
                    "$set": {
                        "first_name": first_name,
                        "username": username,
                        "last_seen": now,
                        "blocked_bot": False,
                    },
                    "$setOnInsert": {"joined_at": now},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return _from_doc(doc)

    async def get(self, user_id: int) -> User | None:
        with storage_errors("users.get"):
            doc = await self._users.find_one({"_id": user_id})
        return _from_doc(doc) if doc else None

    async def ban(self, user_id: int, reason: str, by: int, now: datetime) -> User:
        with storage_errors("users.ban"):
            doc = await self._users.find_one_and_update(
                {"_id": user_id},
                {
                    "$set": {"banned": {"reason": reason, "by": by, "at": now}},
                    "$setOnInsert": {"first_name": "", "joined_at": now, "last_seen": now},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return _from_doc(doc)

    async def unban(self, user_id: int) -> bool:
        with storage_errors("users.unban"):
            result = await self._users.update_one(
                {"_id": user_id, "banned": {"$ne": None}}, {"$unset": {"banned": ""}}
            )
        return bool(result.modified_count)

    async def set_premium_until(self, user_id: int, until: datetime | None) -> User | None:
        update = {"$set": {"premium_until": until}} if until else {"$unset": {"premium_until": ""}}
        with storage_errors("users.set_premium_until"):
            doc = await self._users.find_one_and_update(
                {"_id": user_id}, update, return_document=ReturnDocument.AFTER
            )
        return _from_doc(doc) if doc else None

    async def mark_blocked(self, user_id: int, *, blocked: bool = True) -> None:
        with storage_errors("users.mark_blocked"):
            await self._users.update_one({"_id": user_id}, {"$set": {"blocked_bot": blocked}})

    async def count(self) -> int:
        with storage_errors("users.count"):
            return int(await self._users.estimated_document_count())

    async def any_banned(self) -> bool:
        """Whether anyone is banned: a range on the sparse `banned.at` index, one key read."""
        with storage_errors("users.any_banned"):
            doc = await self._users.find_one({"banned.at": {"$gte": _EPOCH}}, projection={"_id": 1})
        return doc is not None


def _from_doc(doc: dict[str, Any]) -> User:
    ban = doc.get("banned")
    return User(
        id=int(doc["_id"]),
        first_name=str(doc.get("first_name") or ""),
        username=doc.get("username"),
        joined_at=doc["joined_at"],
        last_seen=doc["last_seen"],
        banned=BanRecord(ban["reason"], int(ban["by"]), ban["at"]) if ban else None,
        premium_until=doc.get("premium_until"),
        blocked_bot=bool(doc.get("blocked_bot", False)),
    )

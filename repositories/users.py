"""The `users` collection: who talked to the bot, bans, premium expiry, blocked-bot flags."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne

from core.models import BanRecord, User, UserTally
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoUserRepository"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

INDEXES = (
    IndexSpec.on("users", "premium_until", sparse=True),
    IndexSpec.on("users", "banned.at", sparse=True),
    IndexSpec.on("users", "last_seen"),
    IndexSpec.on("users", "username", sparse=True),
)

PREMIUM_NOTICES = ("ends_soon", "ended")


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
                    "$setOnInsert": {"first_name": "", "joined_at": now, "last_seen": _EPOCH},
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

    async def set_premium_until(
        self,
        user_id: int,
        until: datetime | None,
        *,
        now: datetime | None = None,
        notice: str | None = None,
    ) -> User | None:
        """Set (or with None end) a user's plan; its reminders start over from `notice` (the
        last one counted as sent). With `now`, a user who never wrote to the bot is recorded
        (an admin may grant a plan in advance); without it, an unknown user gives None."""
        update: dict[str, Any]
        if until is None:
            update = {"$unset": {"premium_until": "", "premium_notice": ""}}
        elif notice is None:
            update = {"$set": {"premium_until": until}, "$unset": {"premium_notice": ""}}
        else:
            update = {"$set": {"premium_until": until, "premium_notice": notice}}
        if now is not None:
            update["$setOnInsert"] = {"first_name": "", "joined_at": now, "last_seen": _EPOCH}
        with storage_errors("users.set_premium_until"):
            doc = await self._users.find_one_and_update(
                {"_id": user_id},
                update,
                upsert=now is not None,
                return_document=ReturnDocument.AFTER,
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

    async def by_username(self, username: str) -> User | None:
        """The user who last wrote with this @username (case-insensitive, as Telegram's)."""
        name = username.lstrip("@")
        with storage_errors("users.by_username"):
            doc = await self._users.find_one({"username": name})
            if doc is None:  # usernames are case-insensitive; the exact spelling is the fast path
                pattern = f"^{re.escape(name)}$"
                doc = await self._users.find_one({"username": {"$regex": pattern, "$options": "i"}})
        return _from_doc(doc) if doc else None

    async def banned(self, limit: int) -> list[User]:
        """Banned users, most recent ban first."""
        with storage_errors("users.banned"):
            cursor = self._users.find({"banned.at": {"$gte": _EPOCH}}).sort("banned.at", -1)
            docs = await cursor.to_list(limit)
        return [_from_doc(d) for d in docs]

    async def premium(self, now: datetime, limit: int) -> list[User]:
        """Users whose plan is active at `now`, the soonest to end first."""
        with storage_errors("users.premium"):
            cursor = self._users.find({"premium_until": {"$gt": now}}).sort("premium_until", 1)
            docs = await cursor.to_list(limit)
        return [_from_doc(d) for d in docs]

    async def premium_due(self, horizon: datetime, limit: int) -> list[User]:
        """Plans ending before `horizon` whose last reminder ("ended") was not sent yet."""
        with storage_errors("users.premium_due"):
            cursor = self._users.find(
                {"premium_until": {"$lte": horizon}, "premium_notice": {"$ne": "ended"}}
            ).sort("premium_until", 1)
            docs = await cursor.to_list(limit)
        return [_from_doc(d) for d in docs]

    async def set_premium_notice(self, user_id: int, notice: str, until: datetime) -> bool:
        """Record that `notice` was sent for the plan ending at `until`; False when the plan
        changed meanwhile (an admin extended it: that plan's reminders start over)."""
        if notice not in PREMIUM_NOTICES:
            raise ValueError(f"unknown premium notice {notice!r}")
        with storage_errors("users.set_premium_notice"):
            result = await self._users.update_one(
                {"_id": user_id, "premium_until": until}, {"$set": {"premium_notice": notice}}
            )
        return bool(result.modified_count)

    async def add_activity(self, counts: Mapping[int, Mapping[str, int]]) -> None:
        """Searches and downloads to add, per user: one unordered bulk write for all of them."""
        writes = []
        for user_id, fields in counts.items():
            if not set(fields) <= {"searches", "downloads"}:
                raise ValueError(f"unknown activity in {sorted(fields)}")
            if any(fields.values()):
                writes.append(UpdateOne({"_id": user_id}, {"$inc": dict(fields)}))
        if not writes:
            return
        with storage_errors("users.add_activity"):
            await self._users.bulk_write(writes, ordered=False)

    async def tally(self, now: datetime, active_since: datetime) -> UserTally:
        """The counts `/stats` shows (range queries on indexed fields, one count each)."""
        with storage_errors("users.tally"):
            return UserTally(
                total=int(await self._users.estimated_document_count()),
                active=int(
                    await self._users.count_documents({"last_seen": {"$gte": active_since}})
                ),
                blocked=int(await self._users.count_documents({"blocked_bot": True})),
                banned=int(await self._users.count_documents({"banned.at": {"$gte": _EPOCH}})),
                premium=int(await self._users.count_documents({"premium_until": {"$gt": now}})),
            )

    async def all_users(self) -> AsyncIterator[User]:
        """Every user, by id (for the CSV export)."""
        with storage_errors("users.all_users"):
            async for doc in self._users.find({}).sort("_id", 1):
                yield _from_doc(doc)


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
        searches=int(doc.get("searches", 0)),
        downloads=int(doc.get("downloads", 0)),
        premium_notice=doc.get("premium_notice"),
    )

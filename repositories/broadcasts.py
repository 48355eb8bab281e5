"""The `broadcast_recipients` collection: who a broadcast goes to, frozen when it starts.

A broadcast's recipients are written once, in chunks of ids (`_id` "<job>:<n>"), so that the
job walks a fixed list however the users change meanwhile, and reads one chunk with one `_id`
lookup (no range scans over `users`, which grow to millions). The chunks are dropped when the
job ends.
"""

from __future__ import annotations

from typing import Any

from core.models import AUDIENCES
from repositories.mongo import Database, storage_errors

__all__ = ["MongoRecipientRepository"]

CHUNK = 1_000
_GROUP_KINDS = ["group", "supergroup"]


class MongoRecipientRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _chunks(self) -> Any:
        return self._database.collection("broadcast_recipients")

    def _sources(self, audience: str) -> list[tuple[str, dict[str, Any]]]:
        """(collection, filter) per audience: users who did not block the bot and are not
        banned; groups the bot is still in."""
        if audience not in AUDIENCES:
            raise ValueError(f"unknown audience {audience!r}")
        users: tuple[str, dict[str, Any]] = (
            "users",
            {"blocked_bot": {"$ne": True}, "banned": None},
        )
        groups: tuple[str, dict[str, Any]] = (
            "chats",
            {"active": True, "kind": {"$in": _GROUP_KINDS}},
        )
        if audience == "users":
            return [users]
        return [groups] if audience == "groups" else [users, groups]

    async def count(self, audience: str) -> int:
        total = 0
        with storage_errors("broadcasts.count"):
            for name, query in self._sources(audience):
                total += int(await self._database.collection(name).count_documents(query))
        return total

    async def freeze(self, job_id: str, audience: str) -> tuple[int, int]:
        """Write the recipients of `job_id` (again, if a crash interrupted the first time);
        returns (recipients, chunks)."""
        total, number, ids = 0, 0, []
        with storage_errors("broadcasts.freeze"):
            await self.drop(job_id)
            for name, query in self._sources(audience):
                cursor = self._database.collection(name).find(query, projection={"_id": 1})
                async for doc in cursor:
                    ids.append(int(doc["_id"]))
                    if len(ids) == CHUNK:
                        await self._chunks.insert_one({"_id": f"{job_id}:{number}", "ids": ids})
                        total, number, ids = total + len(ids), number + 1, []
            if ids:
                await self._chunks.insert_one({"_id": f"{job_id}:{number}", "ids": ids})
                total, number = total + len(ids), number + 1
        return total, number

    async def chunk(self, job_id: str, number: int) -> list[int]:
        with storage_errors("broadcasts.chunk"):
            doc = await self._chunks.find_one({"_id": f"{job_id}:{number}"})
        return [int(i) for i in (doc or {}).get("ids", [])]

    async def drop(self, job_id: str) -> None:
        prefix = f"{job_id}:"
        with storage_errors("broadcasts.drop"):
            await self._chunks.delete_many({"_id": {"$gte": prefix, "$lt": f"{job_id};"}})

"""The `jobs` collection: durable background jobs with state, checkpoint, counters and a lease."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.models import ACTIVE_STATES, OPEN_STATES, JobRecord
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "MongoJobRepository"]

INDEXES = (
    IndexSpec.on("jobs", "state"),
    # One unfinished job per subject: `open` is set while a job is not finished.
    IndexSpec.on("jobs", "open", unique=True, sparse=True),
)


class MongoJobRepository:
    """`bot_id`: the bot whose jobs these are. Its jobs carry it (`bot`), and every lookup,
    lease and listing is limited to them (and to jobs written before jobs had an owner bot):
    two bots with different tokens on one database never run, list or cancel each other's
    jobs, while a second instance of the same bot still takes over after a crash. None
    (`bot.py import`, which no bot runs): jobs of no bot."""

    def __init__(self, database: Database, *, bot_id: int | None = None) -> None:
        self._database = database
        self._bot_id = bot_id
        self._mine: dict[str, object] = (
            {"bot": {"$in": [bot_id, None]}} if bot_id is not None else {}
        )

    @property
    def _jobs(self) -> Any:
        return self._database.collection("jobs")

    async def create(self, kind: str, params: dict[str, object], now: datetime) -> JobRecord:
        doc = self._new_job(kind, params, now)
        with storage_errors("jobs.create"):
            await self._jobs.insert_one(doc)
        return _from_doc(doc)

    async def create_exclusive(
        self, kind: str, params: dict[str, object], now: datetime
    ) -> JobRecord | None:
        """A new pending job, or None when an unfinished job of this kind for the same subject
        (`params["key"]`) exists: decided by a unique index, so two admins pressing Start at
        once, or one pressing Send twice, make one job."""
        doc = {
            **self._new_job(kind, params, now),
            "open": f"{self._bot_id or ''}:{kind}:{params['key']}",
        }
        with storage_errors("jobs.create"):
            try:
                await self._jobs.insert_one(doc)
            except DuplicateKeyError:
                return None
        return _from_doc(doc)

    async def get(self, job_id: str) -> JobRecord | None:
        with storage_errors("jobs.get"):
            doc = await self._jobs.find_one({"_id": job_id, **self._mine})
        return _from_doc(doc) if doc else None

    async def claim(
        self, job_id: str, owner: str, now: datetime, lease_until: datetime
    ) -> JobRecord | None:
        """Take the job if it is pending, ours, or its lease has lapsed (a crashed worker)."""
        free = {
            "_id": job_id,
            **self._mine,
            "state": {"$in": list(ACTIVE_STATES)},
            "$or": [{"owner": None}, {"owner": owner}, {"lease_until": {"$lt": now}}],
        }
        with storage_errors("jobs.claim"):
            doc = await self._jobs.find_one_and_update(
                free,
                {
                    "$set": {
                        "owner": owner,
                        "lease_until": lease_until,
                        "state": "running",
                        "updated_at": now,
                    },
                    "$min": {"started_at": now},  # the first claim's time, kept on resumes
                },
                return_document=ReturnDocument.AFTER,
            )
        return _from_doc(doc) if doc else None

    async def checkpoint(
        self,
        job_id: str,
        owner: str,
        *,
        checkpoint: dict[str, object],
        counters: dict[str, int],
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        """Save progress and extend the lease; False if another worker owns the job now."""
        with storage_errors("jobs.checkpoint"):
            result = await self._jobs.update_one(
                {"_id": job_id, "owner": owner, "state": "running"},
                {
                    "$set": {
                        "checkpoint": checkpoint,
                        "counters": counters,
                        "updated_at": now,
                        "lease_until": lease_until,
                    }
                },
            )
        return bool(result.matched_count)

    async def finish(
        self, job_id: str, state: str, now: datetime, error: str | None = None
    ) -> bool:
        """End the job unless it already ended (a cancel that came first stays)."""
        with storage_errors("jobs.finish"):
            result = await self._jobs.update_one(
                {"_id": job_id, "state": {"$in": list(OPEN_STATES)}},
                {
                    "$set": {
                        "state": state,
                        "updated_at": now,
                        "error": error,
                        "owner": None,
                        "lease_until": None,
                    },
                    "$unset": {"open": ""},
                },
            )
        return bool(result.matched_count)

    async def active(self) -> list[JobRecord]:
        with storage_errors("jobs.active"):
            docs = await self._jobs.find(
                {"state": {"$in": list(ACTIVE_STATES)}, **self._mine}
            ).to_list(None)
        return [_from_doc(d) for d in docs]

    async def active_with(
        self, kind: str, key: str, states: tuple[str, ...] = ACTIVE_STATES
    ) -> JobRecord | None:
        """The unfinished job of this kind for this subject (`params.key`), if any: what a
        new run resumes instead of starting over."""
        query = {"state": {"$in": list(states)}, **self._mine}
        with storage_errors("jobs.active_with"):
            docs = await self._jobs.find(query).to_list(None)
        found = [d for d in docs if d["kind"] == kind and (d.get("params") or {}).get("key") == key]
        return _from_doc(max(found, key=lambda d: d["created_at"])) if found else None

    async def transition(
        self,
        job_id: str,
        from_states: tuple[str, ...],
        state: str,
        now: datetime,
        *,
        error: str | None = None,
    ) -> JobRecord | None:
        """Move the job to `state` if it is in one of `from_states` (pause, resume, cancel),
        with `error` as the reason shown (cleared when None); the job after the change, or
        None when it was in no such state. A worker running it sees the change when its next
        checkpoint no longer matches."""
        update: dict[str, object] = {"state": state, "updated_at": now, "error": error}
        if state != "running":
            update.update(owner=None, lease_until=None)
        with storage_errors("jobs.transition"):
            doc = await self._jobs.find_one_and_update(
                {"_id": job_id, "state": {"$in": list(from_states)}, **self._mine},
                {"$set": update, **({} if state in OPEN_STATES else {"$unset": {"open": ""}})},
                return_document=ReturnDocument.AFTER,
            )
        return _from_doc(doc) if doc else None

    async def recent(self, limit: int, kind: str | None = None) -> list[JobRecord]:
        """The newest `limit` jobs (of this kind), newest first."""
        query = {**({"kind": kind} if kind is not None else {}), **self._mine}
        with storage_errors("jobs.recent"):
            docs = await self._jobs.find(query).sort("created_at", -1).limit(limit).to_list(None)
        return [_from_doc(d) for d in docs]

    async def by_prefix(self, prefix: str) -> list[JobRecord]:
        """Jobs whose id starts with `prefix` (what an admin types: the first characters)."""
        if not prefix or not all(c in "0123456789abcdef" for c in prefix):
            return []
        upper = prefix + "g"  # every hex id with this prefix sorts below it
        with storage_errors("jobs.by_prefix"):
            docs = await self._jobs.find(
                {"_id": {"$gte": prefix, "$lt": upper}, **self._mine}
            ).to_list(None)
        return [_from_doc(d) for d in docs]

    def _new_job(self, kind: str, params: dict[str, object], now: datetime) -> dict[str, object]:
        doc = _new_job(kind, params, now)
        if self._bot_id is not None:
            doc["bot"] = self._bot_id
        return doc


def _from_doc(doc: dict[str, Any]) -> JobRecord:
    return JobRecord(
        id=doc["_id"],
        kind=doc["kind"],
        state=doc["state"],
        params=dict(doc.get("params") or {}),
        checkpoint=dict(doc.get("checkpoint") or {}),
        counters={k: int(v) for k, v in (doc.get("counters") or {}).items()},
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        owner=doc.get("owner"),
        lease_until=doc.get("lease_until"),
        error=doc.get("error"),
        started_at=doc.get("started_at"),
    )


def _new_job(kind: str, params: dict[str, object], now: datetime) -> dict[str, object]:
    return {
        "_id": uuid.uuid4().hex,
        "kind": kind,
        "state": "pending",
        "params": params,
        "checkpoint": {},
        "counters": {},
        "created_at": now,
        "updated_at": now,
        "owner": None,
        "lease_until": None,
        "error": None,
    }

"""The `files` collection: lean file documents, their change feed and tombstones.

MongoDB is the source of truth and stores only what delivery, duplicate detection,
administration and a rebuild of the search index need. The words a file is found by are
derived from its name whenever it is read (`core.search.normalize.name_terms`) and live in the
full-text index on local disk (`core.search.fulltext`), never in MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError

from core.models import Changes, FileRecord, MetadataUpdate, SaveReport
from core.reuploads import ReuploadOwners, name_hash, packed_reupload_key, split_reuploads
from core.search.normalize import name_terms
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = [
    "CAPTION_LIMIT",
    "INDEXES",
    "MongoFileRepository",
    "to_document",
]

INDEXES = (
    IndexSpec.on("files", "seq"),
    IndexSpec.on("file_tombstones", "seq"),
    IndexSpec.on("files", "chat_id", "message_id", unique=True),
    IndexSpec.on("files", "dup"),
    IndexSpec.on("files", "meta", sparse=True),
)
CAPTION_LIMIT = 1024  # what Telegram shows of a caption; the rest is never delivered
# Change numbers one write reserves at most: a reader re-reads a window of numbers behind its
# watermark (`services.search_index.SAFETY_WINDOW`, 1,000) because a reserved number may
# become visible after higher ones; keeping each write this small lets the window cover two
# writers in flight at once.
MAX_IN_FLIGHT = 500
_DUPLICATE = 11000  # MongoDB's duplicate key error

# What a new post of a file already indexed (same unique id) changes; everything else is set
# when the file is first indexed (its name, hence its metadata, never changes; the premium gate
# is the admins' to change).
_FROM_POST = ("file_id", "caption", "chat_id", "message_id")


class MongoFileRepository:
    """`FileRepository` on MongoDB. Every read is one single-predicate query (`_id`, `seq`,
    `dup`, `meta` or chat and message), which any MongoDB planner, the embedded one included,
    serves from an index.

    The change feed: every write that changes what a file is found by gives it the next number
    of the `counters` document "files" (`seq`), and a deleted file leaves a tombstone with its
    own number in `file_tombstones`, so a reader that remembers the last number it applied can
    catch up with everything after it (`changes_since`), whichever instance wrote it.
    Tombstones are purged after a retention period (`purge_tombstones`); the highest number
    purged is kept (`purged_sequence`) so that a reader that fell further behind knows it must
    rebuild instead of catching up.

    A writer reserves its numbers before it writes, so a number can be handed out before its
    document is visible. This instance's numbered writes in flight are known
    (`unsettled_from`): the search index never moves its watermark past one of them, so a
    file this bot stored is applied by the first catch-up after its write returns. Another
    instance's write in that state is found by the safety window the index re-reads.
    """

    def __init__(
        self, database: Database, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._database = database
        self._now = now
        self._in_flight: list[_Reservation] = []  # this instance's numbered writes

    @property
    def _files(self) -> Any:
        return self._database.collection("files")

    @property
    def _counters(self) -> Any:
        return self._database.collection("counters")

    @property
    def _tombstones(self) -> Any:
        return self._database.collection("file_tombstones")

    async def save_many(
        self,
        files: Sequence[FileRecord],
        *,
        skip_same_name_and_size: bool = True,
        only_new: bool = False,
    ) -> SaveReport:
        """Upsert a batch with unordered bulk writes, keyed by the unique file id.

        A file with the same normalised name and size as one already indexed under another id
        (another upload of the same file) is skipped and reported as a duplicate. `only_new`
        (an import): a file already held is left exactly as it is, reported as a duplicate.
        """
        if not files:
            return SaveReport()
        batch = list({f.id: f for f in files}.values())
        skipped: list[str] = []
        if skip_same_name_and_size:
            batch, skipped = await self._drop_reuploads(batch)
        if not batch:
            return SaveReport(duplicates=len(skipped), duplicate_ids=tuple(skipped))
        existing: dict[str, dict[str, Any]] = {}
        if not only_new:  # an import learns which files exist from the inserts that fail
            with storage_errors("files.find_existing"):
                found = await self._files.find({"_id": {"$in": [f.id for f in batch]}}).to_list(
                    None
                )
            existing = {d["_id"]: d for d in found}
        writes: list[tuple[FileRecord, dict[str, Any], dict[str, Any], bool]] = []
        unchanged = 0
        for f in batch:
            doc = to_document(f)
            changed = {k: doc.get(k) for k in _FROM_POST}
            old = existing.get(f.id)
            if old is not None and (only_new or all(old.get(k) == v for k, v in changed.items())):
                unchanged += 1  # the same post again: no write, no change number
                continue
            writes.append((f, doc, changed, old is not None))
        inserted = updated = held = 0
        for start in range(0, len(writes), MAX_IN_FLIGHT):
            done = await self._write(writes[start : start + MAX_IN_FLIGHT], only_new=only_new)
            inserted, updated, held = inserted + done[0], updated + done[1], held + done[2]
        return SaveReport(
            inserted=inserted,
            updated=updated,
            duplicates=unchanged + held + len(skipped),
            duplicate_ids=tuple(skipped),
        )

    async def _write(
        self,
        writes: list[tuple[FileRecord, dict[str, Any], dict[str, Any], bool]],
        *,
        only_new: bool,
    ) -> tuple[int, int, int]:
        """Number a chunk of writes and write it: new files inserted (cheaper than upserts),
        known ones updated; an insert of a file that exists already (another writer's, or one
        an import did not look up) is done again as an update, or with `only_new` counted as
        held. Returns (inserted, updated, held)."""
        async with self._numbering(len(writes)) as first:
            operations: list[InsertOne[dict[str, Any]] | UpdateOne] = [
                UpdateOne({"_id": f.id}, _upsert(doc, changed, number), upsert=True)
                if exists
                else InsertOne(_numbered(doc, number))
                for number, (f, doc, changed, exists) in enumerate(writes, first)
            ]
            with storage_errors("files.save_many"):
                try:
                    result = await self._files.bulk_write(operations, ordered=False)
                except BulkWriteError as exc:
                    details = exc.details
                    lost = [
                        e for e in details.get("writeErrors", []) if e.get("code") == _DUPLICATE
                    ]
                    if len(lost) != len(details.get("writeErrors", [])):
                        raise
                    if only_new:
                        return int(details.get("nInserted", 0)), 0, len(lost)
                    retry = [
                        UpdateOne(
                            {"_id": f.id}, _upsert(doc, changed, first + e["index"]), upsert=True
                        )
                        for e in lost
                        for f, doc, changed, _ in [writes[e["index"]]]
                    ]
                    again = await self._files.bulk_write(retry, ordered=False)
                    return (
                        int(details.get("nInserted", 0)) + again.upserted_count,
                        int(details.get("nModified", 0)) + again.modified_count,
                        0,
                    )
            return result.inserted_count + result.upserted_count, result.modified_count, 0

    async def _drop_reuploads(self, batch: list[FileRecord]) -> tuple[list[FileRecord], list[str]]:
        return split_reuploads(batch, await self.reupload_owners(batch))

    async def reupload_owners(self, files: Sequence[FileRecord]) -> ReuploadOwners:
        """The files already stored with the name and size of one of `files`: (name digest,
        size) → file id."""
        hashes = list({name_hash(f.name_key) for f in files})
        with storage_errors("files.find_reuploads"):
            docs = await self._files.find(
                {"dup": {"$in": hashes}}, {"file_size": 1, "dup": 1}
            ).to_list(None)
        return {(d["dup"], d["file_size"]): d["_id"] for d in docs}

    async def reupload_keys(self, after: int = 0, upto: int | None = None) -> set[int]:
        """The name-and-size keys (`packed_reupload_key`) of every stored file, or of those
        whose change number is in (`after`, `upto`]: one pass over the collection (or a range
        of the change-number index) instead of a lookup per file, for bulk writers that keep
        them in memory (an import)."""
        query: dict[str, Any] = {}
        if after or upto is not None:
            query = {"seq": {"$gt": after, **({"$lte": upto} if upto is not None else {})}}
        keys: set[int] = set()
        with storage_errors("files.reupload_keys"):
            async for doc in self._files.find(
                query, {"_id": 0, "dup": 1, "file_size": 1}, batch_size=10_000
            ):
                if "dup" in doc:
                    keys.add(packed_reupload_key(int(doc["dup"]), int(doc.get("file_size", 0))))
        return keys

    @contextlib.asynccontextmanager
    async def _numbering(self, count: int) -> AsyncIterator[int]:
        """Reserve `count` consecutive change numbers for the write made inside the block (the
        first is yielded); until the block ends they are in flight (`unsettled_from`)."""
        reservation = _Reservation()
        self._in_flight.append(reservation)
        try:
            reservation.first = await self._next_sequences(count)
            reservation.known.set()
            yield reservation.first
        finally:
            reservation.known.set()
            self._in_flight.remove(reservation)

    async def unsettled_from(self) -> int | None:
        """The lowest change number of this instance's writes still in flight (numbers
        reserved, documents not yet written), or None. Call it after reading the counter
        (`sequences`): a reservation begun before that read returned may hold a number it
        read, so its number is waited for (one round trip); one begun later gets a higher
        number than the read."""
        lowest: int | None = None
        for reservation in list(self._in_flight):
            await reservation.known.wait()
            first = reservation.first
            if first is not None and (lowest is None or first < lowest):
                lowest = first
        return lowest

    async def _next_sequences(self, count: int) -> int:
        """Reserve `count` consecutive change numbers; returns the first."""
        with storage_errors("counters.files"):
            doc = await self._counters.find_one_and_update(
                {"_id": "files"},
                {"$inc": {"seq": count}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return int(doc["seq"]) - count + 1

    async def _tombstone(self, file_id: str) -> None:
        async with self._numbering(1) as number:
            with storage_errors("file_tombstones.insert"):
                await self._tombstones.update_one(
                    {"_id": file_id},
                    {"$set": {"seq": number, "deleted_at": self._now()}},
                    upsert=True,
                )

    async def sequences(self) -> tuple[int, int]:
        """(the highest change number handed out, the highest one of a purged tombstone); both
        0 on a new database. One read of the `counters` document."""
        with storage_errors("counters.files"):
            doc = await self._counters.find_one({"_id": "files"}) or {}
        return int(doc.get("seq", 0)), int(doc.get("purged", 0))

    async def last_sequence(self) -> int:
        """The highest change number handed out so far (0 on a new database)."""
        return (await self.sequences())[0]

    async def purged_sequence(self) -> int:
        """The highest change number of a tombstone purged so far (0 if none was)."""
        return (await self.sequences())[1]

    async def purge_tombstones(self, older_than: datetime) -> int:
        """Delete the tombstones of files deleted before `older_than`; returns how many. The
        highest number purged is recorded first, so a reader never misses a delete silently."""
        old = {"deleted_at": {"$lt": older_than}}
        with storage_errors("file_tombstones.purge"):
            newest = await self._tombstones.find(old).sort("seq", -1).limit(1).to_list(None)
            if not newest:
                return 0
            await self._counters.update_one(
                {"_id": "files"}, {"$max": {"purged": int(newest[0]["seq"])}}, upsert=True
            )
            result = await self._tombstones.delete_many(
                {"seq": {"$lte": int(newest[0]["seq"])}, **old}
            )
        return int(result.deleted_count)

    async def changes_since(
        self,
        after: int,
        limit: int,
        known: Mapping[str, int] | None = None,
        *,
        upto: int | None = None,
    ) -> Changes:
        """Up to `limit` changes numbered above `after` from files and tombstones, collapsed to
        one per file (the newest wins: a file deleted and indexed again is an upsert).

        `known`: file id → change number the reader has already applied; those changes are
        counted in `numbers` and `last` but their documents are not read again (a reader
        re-reading a safety window behind its watermark reads numbers, not documents).
        `upto`: the highest change number to read (the caller read `sequences()` already)."""
        newest_number = upto if upto is not None else await self.last_sequence()
        end = min(after + limit, newest_number)
        # A bounded range: at most `limit` numbers, read from the `seq` indexes.
        newer = {"seq": {"$gt": after, "$lte": end}}
        numbers_only = {"seq": 1}
        known = known or {}
        # When the reader has applied nothing numbered in this range (a catch-up right after
        # a write, not a re-read of the safety window), every document in it is wanted: one
        # read of the documents instead of their numbers and then the documents.
        whole = not any(after < n <= end for n in known.values())
        with storage_errors("files.changes_since"):
            docs = await self._files.find(newer, None if whole else numbers_only).to_list(None)
            stones = await self._tombstones.find(newer, numbers_only).to_list(None)
        entries = sorted(
            [(int(d["seq"]), d["_id"], True) for d in docs]
            + [(int(t["seq"]), t["_id"], False) for t in stones]
        )[:limit]
        newest = {file_id: (number, alive) for number, file_id, alive in entries}
        wanted = [i for i, (n, alive) in newest.items() if alive and known.get(i) != n]
        upserts: list[FileRecord] = []
        if wanted and whole:
            upserts = [_from_doc(d) for d in docs if newest.get(d["_id"]) == (int(d["seq"]), True)]
        elif wanted:
            # One range read from the oldest change wanted (usually the tail of the window).
            first = min(newest[i][0] for i in wanted)
            window = {"seq": {"$gte": first, "$lte": end}}
            with storage_errors("files.changes_since"):
                found = await self._files.find(window).to_list(None)
            # A document written again since its number was read carries a newer number:
            # it is read with that number by the next call.
            upserts = [_from_doc(d) for d in found if int(d.get("seq", 0)) == newest[d["_id"]][0]]
        return Changes(
            upserts=tuple(upserts),
            deletes=tuple(i for i, (n, alive) in newest.items() if not alive and known.get(i) != n),
            last=max(end, after),
            numbers={file_id: number for number, file_id, _ in entries},
            more=end < newest_number,
        )

    async def scan(
        self, batch: int, *, newest_first: bool = False
    ) -> AsyncIterator[list[FileRecord]]:
        """Every file, by windows of `batch` change numbers (what a rebuild of the index
        reads): each window is one bounded read, so no single operation outlasts
        DATABASE_TIMEOUT however large the library. A file written meanwhile gets a number
        above the last one at the start, which the caller catches up with afterwards.
        `newest_first`: the windows from the last number down, each one's files by number
        from the highest."""
        last = await self.last_sequence()
        lows = range(0, last, batch)
        for low in reversed(lows) if newest_first else lows:
            window = {"seq": {"$gt": low, "$lte": low + batch}}
            with storage_errors("files.scan"):
                docs = await self._files.find(window).to_list(None)
            if newest_first:
                docs.sort(key=lambda d: int(d["seq"]), reverse=True)
            if docs:
                yield [_from_doc(d) for d in docs]

    async def metadata_pending(self, after: int, window: int) -> list[FileRecord]:
        """Files whose name the accurate parser has not read yet, marked with a number in
        (after, after + window]: `meta` holds the change number a file was stored with, in a
        sparse index, so every read is a bounded range of it (a planner that does not push a
        limit into an index scan still reads at most `window` entries)."""
        marked = {"meta": {"$gt": after, "$lte": after + window}}
        with storage_errors("files.metadata_pending"):
            docs = await self._files.find(marked).to_list(None)
        return [_from_doc(d) for d in docs]

    async def count_metadata_pending(self) -> int:
        with storage_errors("files.count_metadata_pending"):
            return int(await self._files.count_documents({"meta": {"$gt": 0}}))

    async def complete_metadata(self, updates: Sequence[MetadataUpdate]) -> int:
        """Store the accurate parser's metadata; a file whose metadata changed gets a new
        change number (the index re-reads it), one that did not only loses its `meta` mark."""
        if not updates:
            return 0
        wanted = dict(updates)
        with storage_errors("files.complete_metadata"):
            docs = await self._files.find({"_id": {"$in": list(wanted)}}).to_list(None)
        docs = [d for d in docs if d.get("meta")]
        writes: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        quiet: list[str] = []
        for doc in docs:
            meta = wanted[doc["_id"]]
            fields = {
                "title": meta.title,
                "year": meta.year,
                "season": meta.season,
                "episode": meta.episode,
                "resolution": meta.resolution,
                "quality": meta.quality,
                "language": meta.language,
            }
            if all(doc.get(k) == v for k, v in fields.items()):
                quiet.append(doc["_id"])
                continue
            values = {k: v for k, v in fields.items() if v is not None}
            empty = {k: "" for k, v in fields.items() if v is None}
            writes.append((doc["_id"], values, empty))
        operations: list[UpdateOne] = [
            UpdateOne({"_id": file_id, "meta": {"$gt": 0}}, {"$unset": {"meta": ""}})
            for file_id in quiet
        ]
        if not writes:
            if not operations:
                return 0
            with storage_errors("files.complete_metadata"):
                result = await self._files.bulk_write(operations, ordered=False)
            return int(result.modified_count)
        async with self._numbering(len(writes)) as first:
            operations += [
                UpdateOne(
                    {"_id": file_id, "meta": {"$gt": 0}},
                    {
                        "$set": {**values, "seq": number},
                        "$unset": {**empty, "meta": ""},
                    },
                )
                for number, (file_id, values, empty) in enumerate(writes, first)
            ]
            with storage_errors("files.complete_metadata"):
                result = await self._files.bulk_write(operations, ordered=False)
        return int(result.modified_count)

    async def get(self, file_id: str) -> FileRecord | None:
        with storage_errors("files.get"):
            doc = await self._files.find_one({"_id": file_id})
        return _from_doc(doc) if doc else None

    async def get_many(self, file_ids: Sequence[str]) -> list[FileRecord]:
        with storage_errors("files.get_many"):
            docs = await self._files.find({"_id": {"$in": list(file_ids)}}).to_list(None)
        by_id = {d["_id"]: _from_doc(d) for d in docs}
        return [by_id[i] for i in file_ids if i in by_id]

    async def delete(self, file_id: str) -> bool:
        with storage_errors("files.delete"):
            doc = await self._files.find_one_and_delete({"_id": file_id}, {"_id": 1})
        if doc is None:
            return False
        await self._tombstone(file_id)
        return True

    async def set_premium(self, file_id: str, gate: str | None) -> bool:
        """Set this file's own gate ("free" or "premium"), or None to follow the global one."""
        if gate not in {None, "free", "premium"}:
            raise ValueError(f"unknown gate {gate!r}")
        async with self._numbering(1) as number:  # a change: readers of the feed see it
            change: dict[str, Any] = {"$set": {"seq": number}}
            if gate:
                change["$set"]["premium"] = gate
            else:
                change["$unset"] = {"premium": ""}
            with storage_errors("files.set_premium"):
                result = await self._files.update_one({"_id": file_id}, change)
        return bool(result.matched_count)

    async def at_message(self, chat_id: int, message_id: int) -> FileRecord | None:
        """The file a channel message carries, if it is indexed."""
        with storage_errors("files.at_message"):
            doc = await self._files.find_one({"chat_id": chat_id, "message_id": message_id})
        return _from_doc(doc) if doc else None

    async def in_posts(self, chat_id: int, after: int, last: int, limit: int) -> list[FileRecord]:
        """The files of this channel's posts after `after` up to `last`, in post order (a
        range on the unique `chat_id`+`message_id` index): what a batch link delivers."""
        query = {"chat_id": chat_id, "message_id": {"$gt": after, "$lte": last}}
        with storage_errors("files.in_posts"):
            docs = await self._files.find(query).to_list(None)
        docs.sort(key=lambda d: d["message_id"])
        return [_from_doc(d) for d in docs[:limit]]

    async def count_in_posts(self, chat_id: int, first: int, last: int) -> int:
        query = {"chat_id": chat_id, "message_id": {"$gte": first, "$lte": last}}
        with storage_errors("files.count_in_posts"):
            return int(await self._files.count_documents(query))

    async def count_in_chat(self, chat_id: int) -> int:
        """How many files are indexed from posts of this channel (a range on the unique
        `chat_id`+`message_id` index)."""
        with storage_errors("files.count_in_chat"):
            return int(
                await self._files.count_documents({"chat_id": chat_id, "message_id": {"$gte": 0}})
            )

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Remove the file a deleted channel message carried."""
        with storage_errors("files.delete_message"):
            doc = await self._files.find_one_and_delete(
                {"chat_id": chat_id, "message_id": message_id}, {"_id": 1}
            )
        if doc is None:
            return False
        await self._tombstone(doc["_id"])
        return True

    async def delete_chat(self, chat_id: int) -> int:
        """Remove every file of this channel's posts (each leaves a tombstone, so search
        indexes drop it); how many were removed."""
        in_chat = {"chat_id": chat_id, "message_id": {"$gte": 0}}
        with storage_errors("files.delete_chat"):
            ids = [d["_id"] async for d in self._files.find(in_chat, {"_id": 1})]
        for start in range(0, len(ids), MAX_IN_FLIGHT):
            batch = ids[start : start + MAX_IN_FLIGHT]
            now = self._now()
            async with self._numbering(len(batch)) as first:
                with storage_errors("file_tombstones.insert"):
                    await self._tombstones.bulk_write(
                        [
                            UpdateOne(
                                {"_id": file_id},
                                {"$set": {"seq": first + n, "deleted_at": now}},
                                upsert=True,
                            )
                            for n, file_id in enumerate(batch)
                        ],
                        ordered=False,
                    )
                with storage_errors("files.delete_chat"):
                    await self._files.delete_many({"_id": {"$in": batch}})
        return len(ids)

    async def count(self) -> int:
        with storage_errors("files.count"):
            return int(await self._files.estimated_document_count())


@dataclass(eq=False)
class _Reservation:
    """A numbered write in flight: `first` is None until the counter has answered."""

    first: int | None = None
    known: asyncio.Event = field(default_factory=asyncio.Event)


def _upsert(doc: dict[str, Any], changed: dict[str, Any], number: int) -> dict[str, Any]:
    """The update that writes `doc`: changeable fields set (or unset when now empty), the
    first-seen ones only on insert."""
    update: dict[str, Any] = {
        "$set": {**{k: v for k, v in changed.items() if v is not None}, "seq": number},
        "$setOnInsert": {
            k: v for k, v in _numbered(doc, number).items() if k not in (*_FROM_POST, "_id", "seq")
        },
    }
    empty = {k: "" for k, v in changed.items() if v is None}
    if empty:
        update["$unset"] = empty
    return update


def _numbered(doc: dict[str, Any], number: int) -> dict[str, Any]:
    """`doc` with its change number, which also marks it for the metadata parser."""
    return {**doc, "seq": number, **({"meta": number} if "meta" in doc else {})}


def to_document(f: FileRecord) -> dict[str, Any]:
    """The lean document: no search terms (they are derived from the name), empty optional
    fields left out, the caption cut to what Telegram can show."""
    doc: dict[str, Any] = {
        "_id": f.id,
        "file_id": f.file_id,
        "file_name": f.file_name,
        "file_size": f.file_size,
        "mime_type": f.mime_type,
        "file_type": f.file_type,
        "caption": f.caption[:CAPTION_LIMIT] if f.caption else None,
        "chat_id": f.chat_id,
        "message_id": f.message_id,
        "title": f.title,
        "indexed_at": f.indexed_at,
        "year": f.year,
        "season": f.season,
        "episode": f.episode,
        "resolution": f.resolution,
        "quality": f.quality,
        "language": f.language,
        "premium": f.premium,
        "dup": name_hash(f.name_key),
        "meta": 1 if f.metadata_pending else None,
    }
    return {k: v for k, v in doc.items() if v is not None}


def _from_doc(doc: dict[str, Any]) -> FileRecord:
    indexed_at: datetime = doc["indexed_at"]
    terms, key = name_terms(doc["file_name"])
    title = doc.get("title") or ""
    return FileRecord(
        id=doc["_id"],
        file_id=doc["file_id"],
        file_name=doc["file_name"],
        file_size=int(doc["file_size"]),
        mime_type=doc.get("mime_type"),
        file_type=doc["file_type"],
        caption=doc.get("caption"),
        chat_id=int(doc["chat_id"]),
        message_id=int(doc["message_id"]),
        terms=terms,
        title=title,
        title_terms=tuple(title.split()),
        indexed_at=indexed_at,
        year=doc.get("year"),
        season=doc.get("season"),
        episode=doc.get("episode"),
        resolution=doc.get("resolution"),
        quality=doc.get("quality"),
        language=doc.get("language"),
        premium=doc.get("premium"),
        name_key=key,
        metadata_pending=bool(doc.get("meta")),
    )

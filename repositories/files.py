"""The `files` collection (the search index) and its `vocab` of term document frequencies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ReturnDocument, UpdateOne

from core.models import FileRecord, SaveReport
from repositories.mongo import Database, IndexSpec, storage_errors

__all__ = ["INDEXES", "PREFIX_END", "Changes", "FileRepository", "MongoFileRepository"]

INDEXES = (
    IndexSpec.on("files", "seq"),
    IndexSpec.on("file_tombstones", "seq"),
    IndexSpec.on("files", "terms"),
    IndexSpec.on("files", "pairs"),
    IndexSpec.on("files", "chat_id", "message_id", unique=True),
    IndexSpec.on("files", "name_key", "file_size"),
    IndexSpec.on("files", "name_key"),
)
PREFIX_END = "\U0010ffff"  # sorts after every character: [p, p + PREFIX_END) is "starts with p"

# Fields set when a file is first indexed and never changed by a re-post.
_IMMUTABLE = ("file_name", "file_size", "mime_type", "file_type", "name_key", "indexed_at")


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after a sequence number, oldest first, one entry per file: the files as
    they are now (`upserts`) and the ids of files deleted since (`deletes`). `last` is the
    highest sequence number read (the caller's next `after`)."""

    upserts: tuple[FileRecord, ...]
    deletes: tuple[str, ...]
    last: int
    numbers: dict[str, int] = field(default_factory=dict)  # file id → number of its change


class FileRepository(Protocol):
    async def save_many(
        self, files: Sequence[FileRecord], *, skip_same_name_and_size: bool = True
    ) -> SaveReport: ...
    async def get(self, file_id: str) -> FileRecord | None: ...
    async def get_many(self, file_ids: Sequence[str]) -> list[FileRecord]: ...
    async def delete(self, file_id: str) -> bool: ...
    async def set_premium(self, file_id: str, gate: str | None) -> bool: ...
    async def delete_message(self, chat_id: int, message_id: int) -> bool: ...
    async def with_term(self, term: str, limit: int) -> list[FileRecord]: ...
    async def with_prefix(self, prefix: str, limit: int) -> list[FileRecord]: ...
    async def with_pair(self, pair: str, limit: int) -> list[FileRecord]: ...
    async def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]: ...
    async def term_stats(self, terms: Iterable[str]) -> dict[str, tuple[int, int]]: ...
    async def prefix_frequency(self, prefix: str, limit: int = 200) -> int: ...
    async def vocabulary(self, limit: int) -> dict[str, int]: ...
    async def count(self) -> int: ...
    async def changes_since(self, after: int, limit: int) -> Changes: ...
    async def last_sequence(self) -> int: ...
    async def page_by_id(self, after: str | None, limit: int) -> list[FileRecord]: ...


class MongoFileRepository:
    """`FileRepository` on MongoDB. Every read is one single-predicate query (`_id`, `terms` or
    `name_key`), which any MongoDB planner, the embedded one included, serves from an index.

    The change feed: every write that changes what a file is found by gives it the next number
    of the `counters` document "files" (`seq`), and a deleted file leaves a tombstone with its
    own number in `file_tombstones`, so a reader that remembers the last number it applied can
    catch up with everything after it (`changes_since`), whichever instance wrote it.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _files(self) -> Any:
        return self._database.collection("files")

    @property
    def _vocab(self) -> Any:
        return self._database.collection("vocab")

    async def save_many(
        self, files: Sequence[FileRecord], *, skip_same_name_and_size: bool = True
    ) -> SaveReport:
        """Upsert a batch with one unordered `bulk_write`, keyed by the unique file id.

        A file with the same normalised name and size as one already indexed under another id
        (another upload of the same file) is skipped and reported as a duplicate.
        """
        if not files:
            return SaveReport()
        batch = list({f.id: f for f in files}.values())
        skipped: list[str] = []
        if skip_same_name_and_size:
            batch, skipped = await self._drop_reuploads(batch)
        if not batch:
            return SaveReport(duplicates=len(skipped), duplicate_ids=tuple(skipped))
        with storage_errors("files.find_existing"):
            existing = {
                d["_id"]: d
                for d in await self._files.find({"_id": {"$in": [f.id for f in batch]}}).to_list(
                    None
                )
            }
        writes: list[tuple[FileRecord, dict[str, Any], dict[str, Any]]] = []
        unchanged = 0
        for f in batch:
            doc = _to_doc(f)
            changed = {k: v for k, v in doc.items() if k not in (*_IMMUTABLE, "_id")}
            old = existing.get(f.id)
            if old is not None and all(old.get(k) == v for k, v in changed.items()):
                unchanged += 1  # the same post again: no write, no change number
                continue
            writes.append((f, doc, changed))
        if not writes:
            return SaveReport(duplicates=unchanged + len(skipped), duplicate_ids=tuple(skipped))
        first = await self._next_sequences(len(writes))
        operations = [
            UpdateOne(
                {"_id": f.id},
                {
                    "$set": {**changed, "seq": number},
                    "$setOnInsert": {k: doc[k] for k in _IMMUTABLE},
                },
                upsert=True,
            )
            for number, (f, doc, changed) in enumerate(writes, first)
        ]
        with storage_errors("files.save_many"):
            result = await self._files.bulk_write(operations, ordered=False)
        inserted_ids = {writes[i][0].id for i in result.upserted_ids}
        await self._count_terms([f for f, _, _ in writes if f.id in inserted_ids], +1)
        return SaveReport(
            inserted=result.upserted_count,
            updated=result.modified_count,
            duplicates=unchanged + len(skipped),
            duplicate_ids=tuple(skipped),
        )

    async def _drop_reuploads(self, batch: list[FileRecord]) -> tuple[list[FileRecord], list[str]]:
        keys = list({f.name_key for f in batch})
        with storage_errors("files.find_reuploads"):
            docs = await self._files.find(
                {"name_key": {"$in": keys}}, {"file_size": 1, "name_key": 1}
            ).to_list(None)
        known = {(d["name_key"], d["file_size"]): d["_id"] for d in docs}
        keep: list[FileRecord] = []
        skipped: list[str] = []
        seen: set[tuple[str, int]] = set()
        for f in batch:
            owner = known.get((f.name_key, f.file_size))
            if (owner is not None and owner != f.id) or (f.name_key, f.file_size) in seen:
                skipped.append(f.id)
                continue
            seen.add((f.name_key, f.file_size))
            keep.append(f)
        return keep, skipped

    async def _count_terms(self, files: Iterable[FileRecord], delta: int) -> None:
        """Keep `vocab` in step: `df` files per term, `jdf` files where it is only a joined word."""
        batch = list(files)
        counts = Counter(t for f in batch for t in f.terms)
        joined = Counter(t for f in batch for t in f.joined)
        if not counts:
            return
        operations = [
            UpdateOne(
                {"_id": term},
                {"$inc": {"df": n * delta, "jdf": joined.get(term, 0) * delta}},
                upsert=True,
            )
            for term, n in counts.items()
        ]
        with storage_errors("vocab.update"):
            await self._vocab.bulk_write(operations, ordered=False)

    async def _next_sequences(self, count: int) -> int:
        """Reserve `count` consecutive change numbers; returns the first."""
        with storage_errors("counters.files"):
            doc = await self._database.collection("counters").find_one_and_update(
                {"_id": "files"},
                {"$inc": {"seq": count}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return int(doc["seq"]) - count + 1

    async def _tombstone(self, file_id: str) -> None:
        number = await self._next_sequences(1)
        with storage_errors("file_tombstones.insert"):
            await self._database.collection("file_tombstones").update_one(
                {"_id": file_id},
                {"$set": {"seq": number, "deleted_at": datetime.now(UTC)}},
                upsert=True,
            )

    async def last_sequence(self) -> int:
        """The highest change number handed out so far (0 on a new database)."""
        with storage_errors("counters.files"):
            doc = await self._database.collection("counters").find_one({"_id": "files"})
        return int(doc["seq"]) if doc else 0

    async def changes_since(self, after: int, limit: int) -> Changes:
        """Up to `limit` changes numbered above `after` from files and tombstones, collapsed to
        one per file (the newest wins: a file deleted and indexed again is an upsert)."""
        newer = {"seq": {"$gt": after}}
        with storage_errors("files.changes_since"):
            docs = await self._files.find(newer).sort("seq", 1).limit(limit).to_list(None)
            stones = (
                await self._database.collection("file_tombstones")
                .find(newer)
                .sort("seq", 1)
                .limit(limit)
                .to_list(None)
            )
        entries = sorted(
            [(int(d["seq"]), d["_id"], d) for d in docs]
            + [(int(t["seq"]), t["_id"], None) for t in stones]
        )[:limit]
        newest = {file_id: doc for _, file_id, doc in entries}  # a later number wins
        return Changes(
            upserts=tuple(_from_doc(d) for d in newest.values() if d is not None),
            deletes=tuple(i for i, d in newest.items() if d is None),
            last=entries[-1][0] if entries else after,
            numbers={file_id: number for number, file_id, _ in entries},
        )

    async def page_by_id(self, after: str | None, limit: int) -> list[FileRecord]:
        """Every file, `limit` at a time in id order (what a rebuild of the index reads)."""
        query = {} if after is None else {"_id": {"$gt": after}}
        with storage_errors("files.page_by_id"):
            docs = await self._files.find(query).sort("_id", 1).limit(limit).to_list(None)
        return [_from_doc(d) for d in docs]

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
            doc = await self._files.find_one_and_delete({"_id": file_id})
        if doc is None:
            return False
        await self._tombstone(file_id)
        await self._count_terms([_from_doc(doc)], -1)
        return True

    async def set_premium(self, file_id: str, gate: str | None) -> bool:
        """Set this file's own gate ("free" or "premium"), or None to follow the global one."""
        if gate not in {None, "free", "premium"}:
            raise ValueError(f"unknown gate {gate!r}")
        with storage_errors("files.set_premium"):
            result = await self._files.update_one({"_id": file_id}, {"$set": {"premium": gate}})
        return bool(result.matched_count)

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Remove the file a deleted channel message carried."""
        with storage_errors("files.delete_message"):
            doc = await self._files.find_one_and_delete(
                {"chat_id": chat_id, "message_id": message_id}
            )
        if doc is None:
            return False
        await self._tombstone(doc["_id"])
        await self._count_terms([_from_doc(doc)], -1)
        return True

    async def with_term(self, term: str, limit: int) -> list[FileRecord]:
        with storage_errors("files.with_term"):
            docs = await self._files.find({"terms": term}).limit(limit).to_list(None)
        return [_from_doc(d) for d in docs]

    async def with_prefix(self, prefix: str, limit: int) -> list[FileRecord]:
        query = {"terms": {"$gte": prefix, "$lt": prefix + PREFIX_END}}
        with storage_errors("files.with_prefix"):
            docs = await self._files.find(query).limit(limit).to_list(None)
        unique = {d["_id"]: d for d in docs}  # a multikey range can return a file twice
        return [_from_doc(d) for d in unique.values()]

    async def with_pair(self, pair: str, limit: int) -> list[FileRecord]:
        """Files containing both words of `pair` (see `core.search.normalize.pair_key`)."""
        with storage_errors("files.with_pair"):
            docs = await self._files.find({"pairs": pair}).limit(limit).to_list(None)
        return [_from_doc(d) for d in docs]

    async def term_stats(self, terms: Iterable[str]) -> dict[str, tuple[int, int]]:
        """term → (files containing it, files where it is only two words written together)."""
        wanted = list(dict.fromkeys(terms))
        with storage_errors("vocab.get"):
            docs = await self._vocab.find({"_id": {"$in": wanted}}).to_list(None)
        found = {d["_id"]: (int(d["df"]), int(d.get("jdf", 0))) for d in docs}
        return {
            t: (max(0, found.get(t, (0, 0))[0]), max(0, found.get(t, (0, 0))[1])) for t in wanted
        }

    async def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        return {t: df for t, (df, _) in (await self.term_stats(terms)).items()}

    async def prefix_frequency(self, prefix: str, limit: int = 200) -> int:
        """How many files have a term starting with `prefix` (an upper bound, from `vocab`)."""
        query = {"_id": {"$gte": prefix, "$lt": prefix + PREFIX_END}}
        with storage_errors("vocab.prefix"):
            docs = await self._vocab.find(query).limit(limit).to_list(None)
        return sum(max(0, int(d["df"])) for d in docs)

    async def vocabulary(self, limit: int) -> dict[str, int]:
        """Up to `limit` terms with their document frequency (for suggestions)."""
        with storage_errors("vocab.all"):
            docs = await self._vocab.find({}).limit(limit).to_list(None)
        return {d["_id"]: int(d["df"]) for d in docs if int(d["df"]) > 0}

    async def count(self) -> int:
        with storage_errors("files.count"):
            return int(await self._files.estimated_document_count())


def _to_doc(f: FileRecord) -> dict[str, Any]:
    return {
        "_id": f.id,
        "file_id": f.file_id,
        "file_name": f.file_name,
        "file_size": f.file_size,
        "mime_type": f.mime_type,
        "file_type": f.file_type,
        "caption": f.caption,
        "chat_id": f.chat_id,
        "message_id": f.message_id,
        "terms": list(f.terms),
        "title": f.title,
        "title_terms": list(f.title_terms),
        "indexed_at": f.indexed_at,
        "year": f.year,
        "season": f.season,
        "episode": f.episode,
        "resolution": f.resolution,
        "quality": f.quality,
        "language": f.language,
        "premium": f.premium,
        "name_key": f.name_key,
        "pairs": list(f.pairs),
        "joined": list(f.joined),
    }


def _from_doc(doc: dict[str, Any]) -> FileRecord:
    indexed_at: datetime = doc["indexed_at"]
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
        terms=tuple(doc.get("terms", ())),
        title=doc.get("title", ""),
        title_terms=tuple(doc.get("title_terms", ())),
        indexed_at=indexed_at,
        year=doc.get("year"),
        season=doc.get("season"),
        episode=doc.get("episode"),
        resolution=doc.get("resolution"),
        quality=doc.get("quality"),
        language=doc.get("language"),
        premium=doc.get("premium"),
        name_key=doc.get("name_key", ""),
        pairs=tuple(doc.get("pairs", ())),
        joined=tuple(doc.get("joined", ())),
    )

"""Import the files of an EvaMaria / Media-Search-bot family database (`python bot.py import`).

Their `Telegram_files` documents look like `{_id: <file id packed without its file reference>,
file_ref, file_name, file_size, file_type, mime_type, caption}`; some forks add fields, which are
ignored. Each becomes one of our files: the unique id is derived from the file id (so a file we
already hold is recognised as a duplicate), the file id is kept (so delivery works without
posting the files again). The source knows no channel message, so an imported file has
`chat_id` 0 and a `message_id` derived from its unique id.

The import is a durable job (`jobs` collection, kind "import"): its checkpoint (the last source
`_id` done) and counters are written after every batch, so a run that is stopped resumes where it
was; a second run over the same source adds nothing (every file is then a duplicate). The
checkpoint also holds the files' change number it was taken at: a run killed after writing a
batch but before its checkpoint left files numbered after it, and the resumed run counts those
as imported (by this import), not as duplicates, so its report gives the whole import's totals.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.clock import Clock
from core.logging import get_logger
from core.models import FileRecord, IncomingFile
from core.reuploads import packed_reupload_key, reupload_key
from services.indexing import build_record
from services.job_runner import open_job
from services.ports import FileRepository, JobRepository

__all__ = [
    "ImportBusyError",
    "ImportProgress",
    "ImportReport",
    "Importer",
    "SourceFiles",
    "from_evamaria",
]

log = get_logger(__name__)

BATCH = 1_000
LEASE = timedelta(seconds=60)
MALFORMED_EXAMPLES = 10
UNRECORDED_READ = 5_000  # changes read at a time when a resumed import looks for its own files
_KINDS = {"video", "audio", "document"}


class SourceFiles(Protocol):
    """The collection files are imported from, read in `_id` order."""

    async def count(self) -> int: ...
    def pages(self, after: Any, batch: int) -> AsyncIterator[list[Mapping[str, Any]]]: ...


@dataclass(frozen=True, slots=True)
class ImportProgress:
    read: int
    total: int
    imported: int
    duplicates: int
    malformed: int
    per_second: float


@dataclass(frozen=True, slots=True)
class ImportReport:
    read: int
    imported: int
    duplicates: int
    malformed: int
    seconds: float
    resumed_from: int = 0  # documents done by an earlier, interrupted run
    examples: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (source id, why)
    job_id: str = ""

    @property
    def per_second(self) -> float:
        return (self.read - self.resumed_from) / max(self.seconds, 1e-9)


class ImportBusyError(Exception):
    """Another import of the same source holds the job's lease."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"another import of this source is running (job {job_id}); if it was stopped, "
            f"run again in {int(LEASE.total_seconds())} s"
        )
        self.job_id = job_id


def from_evamaria(
    doc: Mapping[str, Any], now: datetime, unique_id_of: Callable[[str], str | None]
) -> FileRecord | str:
    """Our record for one source document, or why it cannot be imported."""
    file_id = doc.get("_id")
    if not isinstance(file_id, str) or not file_id:
        return "no file id"
    unique_id = unique_id_of(file_id)
    if unique_id is None:
        return "not a Telegram file id"
    name = doc.get("file_name")
    if not isinstance(name, str) or not name.strip():
        return "no file name"
    size = doc.get("file_size")
    if isinstance(size, bool) or not isinstance(size, int | float) or size < 0 or size != int(size):
        return "no valid file size"
    mime = doc.get("mime_type")
    caption = doc.get("caption")
    kind = doc.get("file_type")
    if kind is not None and kind not in _KINDS:
        return f"file type {str(kind)[:20]!r} is not indexed"
    digest = hashlib.blake2b(unique_id.encode(), digest_size=8).digest()
    incoming = IncomingFile(
        unique_id=unique_id,
        file_id=file_id,
        file_name=name.strip(),
        file_size=int(size),
        mime_type=mime if isinstance(mime, str) else None,
        caption=caption if isinstance(caption, str) and caption else None,
        chat_id=0,
        message_id=int.from_bytes(digest, "big") >> 1,  # unique per file, never a real post
    )
    record = build_record(incoming, now, pending=True)
    return record if record is not None else "file type is not indexed"


def _progress(counters: Mapping[str, int], total: int, rate: float) -> ImportProgress:
    return ImportProgress(
        counters["read"],
        max(total, counters["read"]),
        counters["imported"],
        counters["duplicates"],
        counters["malformed"],
        rate,
    )


class KnownUploads:
    """The name-and-size keys of the target's files, for telling another upload of a stored
    file without a database lookup per batch (on the embedded server a lookup costs about
    1.2 ms plus 0.13 ms per name: a third of what writing the batch costs).

    Read once when the import starts; the import's own files are added as they are written.
    Files that others write meanwhile (a running bot indexing a channel) are noticed from the
    change counter: after each batch, if it moved further than this batch's own change
    numbers, the keys of the files numbered since are read (a range of the change-number
    index), and read again after the next batch for writes that committed late. Memory: about
    90 bytes per file held (90 MB for a million).
    """

    def __init__(self, keys: set[int], upto: int) -> None:
        self._keys = keys
        self._upto = upto  # change numbers up to here are in `keys`
        self._again: int | None = None  # a window others wrote in, to read once more

    def split(self, records: Sequence[FileRecord]) -> tuple[list[FileRecord], list[str]]:
        """(the files to write, the ids of other uploads of files held or earlier in the
        batch); the kept files' keys become known."""
        keep: list[FileRecord] = []
        reuploads: list[str] = []
        for record in records:
            key = packed_reupload_key(*reupload_key(record))
            if key in self._keys:
                reuploads.append(record.id)
            else:
                self._keys.add(key)
                keep.append(record)
        return keep, reuploads

    async def after_write(self, files: FileRepository, numbered: int) -> None:
        """Catch up with other writers after a batch that took `numbered` change numbers.

        A write numbered in this window may commit only after it is read: the window is read
        again after the next batch (applying a key twice is harmless)."""
        last = await files.last_sequence()
        others = last > self._upto + numbered
        if others or self._again is not None:
            start = self._upto if self._again is None else min(self._again, self._upto)
            self._keys |= await files.reupload_keys(after=start, upto=last)
        self._again = self._upto if others else None
        self._upto = last

    @property
    def upto(self) -> int:
        """The change counter as read after the last write (what a checkpoint records)."""
        return self._upto


class Importer:
    def __init__(
        self,
        files: FileRepository,
        jobs: JobRepository,
        clock: Clock,
        *,
        unique_id_of: Callable[[str], str | None],
        skip_duplicates: bool = True,
        batch: int = BATCH,
    ) -> None:
        self._files = files
        self._jobs = jobs
        self._clock = clock
        self._unique_id_of = unique_id_of
        self._skip_duplicates = skip_duplicates
        self._batch = batch
        self._owner = f"import-{uuid.uuid4().hex[:12]}"

    async def run(
        self,
        source: SourceFiles,
        key: str,
        *,
        on_progress: Callable[[ImportProgress], None] | None = None,
        stop_after: int | None = None,
    ) -> ImportReport:
        """Import everything after the checkpoint of an unfinished import of `key` (the source,
        without secrets), or everything. `stop_after`: batches to do before returning early
        (tests of resuming). Raises `ImportBusyError` when another run holds the job."""
        now = self._clock.now()
        job, _created = await open_job(self._jobs, "import", {"key": key}, now)
        claimed = await self._jobs.claim(job.id, self._owner, now, now + LEASE)
        if claimed is None:
            raise ImportBusyError(job.id)
        counters = {
            name: int(claimed.counters.get(name, 0))
            for name in ("read", "imported", "duplicates", "malformed")
        }
        after = claimed.checkpoint.get("after")
        resumed_from = counters["read"]
        ours = await self._unrecorded(claimed.id, claimed.checkpoint, counters)
        examples: list[tuple[str, str]] = []
        total = await source.count()
        started = time.monotonic()
        batches = 0
        if resumed_from:
            log.info("import_resumed", job_id=job.id, documents=resumed_from)
        known = await self._known() if self._skip_duplicates else None
        pages = source.pages(after, self._batch)
        upcoming = asyncio.ensure_future(self._next(pages))
        while True:
            docs, records, malformed = await upcoming
            if not docs:
                break
            # The next page is read and converted while this one is written.
            upcoming = asyncio.ensure_future(self._next(pages))
            imported, duplicates = await self._write(records, known, ours)
            counters["read"] += len(docs)
            counters["imported"] += imported
            counters["duplicates"] += duplicates
            counters["malformed"] += len(malformed)
            room = MALFORMED_EXAMPLES - len(examples)
            examples += malformed[: max(0, room)]
            after = docs[-1]["_id"]
            now = self._clock.now()
            await self._jobs.checkpoint(
                job.id,
                self._owner,
                # The counter after this batch: read by `known` already when it is in use.
                checkpoint={"after": after, "seq": await self._sequence(known)},
                counters=counters,
                now=now,
                lease_until=now + LEASE,
            )
            if on_progress is not None:
                rate = (counters["read"] - resumed_from) / max(time.monotonic() - started, 1e-9)
                on_progress(_progress(counters, total, rate))
            batches += 1
            if stop_after is not None and batches >= stop_after:
                upcoming.cancel()
                await asyncio.gather(upcoming, return_exceptions=True)
                break
        finished = stop_after is None or batches < stop_after
        if finished:
            await self._jobs.finish(job.id, "done", self._clock.now())
        return ImportReport(
            read=counters["read"],
            imported=counters["imported"],
            duplicates=counters["duplicates"],
            malformed=counters["malformed"],
            seconds=time.monotonic() - started,
            resumed_from=resumed_from,
            examples=tuple(examples),
            job_id=job.id,
        )

    async def _unrecorded(
        self, job_id: str, checkpoint: Mapping[str, object], counters: dict[str, int]
    ) -> set[str]:
        """The ids of the files written after the checkpoint's change number (by a run of this
        import that was killed before recording them); a new import first records where the
        change numbers stand."""
        seq = checkpoint.get("seq")
        if not isinstance(seq, int):
            now = self._clock.now()
            await self._jobs.checkpoint(
                job_id,
                self._owner,
                checkpoint={**checkpoint, "seq": await self._files.last_sequence()},
                counters=counters,
                now=now,
                lease_until=now + LEASE,
            )
            return set()
        ours: set[str] = set()
        while True:
            changes = await self._files.changes_since(seq, UNRECORDED_READ)
            ours.update(record.id for record in changes.upserts)
            if not changes.more:
                break
            seq = changes.last
        if ours:
            log.info("import_unrecorded_batch", job_id=job_id, files=len(ours))
        return ours

    async def _write(
        self, records: list[FileRecord], known: KnownUploads | None, ours: set[str]
    ) -> tuple[int, int]:
        """Store a batch's new files; (imported, duplicates). Files in `ours` were written by
        an earlier run of this import that did not record them: imported, not written again."""
        mine = 0
        if ours:
            kept = [r for r in records if r.id not in ours]
            mine = len(records) - len(kept)
            ours.difference_update(r.id for r in records)
            records = kept
        reuploads: list[str] = []
        if known is not None:
            records, reuploads = known.split(records)
        report = await self._files.save_many(records, skip_same_name_and_size=False, only_new=True)
        if known is not None:
            await known.after_write(self._files, len({r.id for r in records}))
        return report.inserted + mine, len(reuploads) + report.duplicates

    async def _sequence(self, known: KnownUploads | None) -> int:
        return known.upto if known is not None else await self._files.last_sequence()

    async def _known(self) -> KnownUploads:
        """The names and sizes the target holds, read once (then kept up to date)."""
        upto = await self._files.last_sequence()
        keys = await self._files.reupload_keys()
        log.info("import_duplicate_keys_loaded", files=len(keys))
        return KnownUploads(keys, upto)

    async def _next(
        self, pages: AsyncIterator[list[Mapping[str, Any]]]
    ) -> tuple[list[Mapping[str, Any]], list[FileRecord], list[tuple[str, str]]]:
        """The next page ([] at the end), converted in a worker thread."""
        docs: list[Mapping[str, Any]] = await anext(pages, [])
        records, malformed = await asyncio.to_thread(self._convert, docs)
        return docs, records, malformed

    def _convert(
        self, docs: Sequence[Mapping[str, Any]]
    ) -> tuple[list[FileRecord], list[tuple[str, str]]]:
        now = self._clock.now()
        records: list[FileRecord] = []
        malformed: list[tuple[str, str]] = []
        for doc in docs:
            converted = from_evamaria(doc, now, self._unique_id_of)
            if isinstance(converted, str):
                malformed.append((str(doc.get("_id"))[:80], converted))
            else:
                records.append(converted)
        return records, malformed

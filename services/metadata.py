"""Completes files' metadata with the accurate release-name parser, off the indexing path.

Indexing stores a file with what the fast marker pass reads from its name (words, year,
SxxEyy / 1x02 / season packs, resolution), so it is searchable at once, and marks it pending
(`meta` in MongoDB). This service reads pending files in batches, parses their names with
guessit in worker processes (guessit takes ~20 ms a name: one core parses ~50 names/s), and
stores the result; a file whose metadata changed gets a new change number, so the full-text
index re-reads it. The mark lives in MongoDB, so the work resumes after a restart, on whichever
instance runs, and several instances on one database share it (an update only applies to a
file still marked).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor

from core.clock import Clock
from core.logging import get_logger
from core.models import FileRecord
from core.search.metadata import FileMetadata, describe_all
from core.utils.activity import working
from services.ports import FileRepository

__all__ = ["MetadataService"]

log = get_logger(__name__)

BATCH = 256
WINDOW = 5_000  # change numbers read per query
CURSOR_SAFETY = 1_000  # numbers looked at again behind the last sweep (writers in flight)
IDLE_CHECK_SECONDS = 60.0  # pending files written by another instance are found this late
FULL_SWEEP_EVERY = 60  # periodic checks between sweeps from the start (about an hour)


class MetadataService:
    def __init__(
        self,
        files: FileRepository,
        *,
        workers: int,
        on_changed: Callable[[], Awaitable[None]] | None = None,
        batch: int = BATCH,
    ) -> None:
        """`workers`: parser processes; 0 parses in a thread of this process (tests, small
        libraries). `on_changed` runs after files got new metadata (the index catches up)."""
        self._files = files
        self._workers = workers
        self._on_changed = on_changed
        self._batch = batch
        self._wake = asyncio.Event()
        self._executor: Executor | None = None
        self.parsed = 0  # files completed by this instance since it started
        self._cursor = 0  # pending files are looked for after this change number

    def wake(self) -> None:
        """New pending files were stored: parse them now rather than at the next check."""
        self._wake.set()

    def _pool(self) -> Executor:
        if self._executor is None:
            if self._workers > 0:
                self._executor = ProcessPoolExecutor(
                    self._workers, mp_context=multiprocessing.get_context("spawn")
                )
            else:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="metadata")
        return self._executor

    async def run(self, clock: Clock) -> None:
        """Complete pending files whenever woken, and every minute (other instances' files)."""
        self._wake.set()  # what a previous run left pending
        checks = 0
        while True:
            waiter = asyncio.ensure_future(self._wake.wait())
            sleeper = asyncio.ensure_future(clock.sleep(IDLE_CHECK_SECONDS))
            try:
                await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                sleeper.cancel()
            self._wake.clear()
            checks += 1
            try:
                await self.complete_pending(from_start=checks % FULL_SWEEP_EVERY == 1)
            except BrokenExecutor as exc:  # a worker died (killed, out of memory): new ones
                log.warning("metadata_failed", error=f"worker process lost: {exc}")
                await self.close()
            except Exception as exc:  # noqa: BLE001 - the loop must survive a bad moment
                log.warning("metadata_failed", error=str(exc))

    async def complete_pending(self, *, from_start: bool = False) -> int:
        """Parse the pending files marked after this instance's cursor (all of them with
        `from_start`), window by window; returns how many were completed."""
        done = 0
        with working():
            started = time.monotonic()
            remaining = await self._files.count_metadata_pending()
            if not remaining:
                return 0
            after = 0 if from_start else self._cursor
            end = await self._files.last_sequence()
            while after < end:
                window = await self._files.metadata_pending(after, WINDOW)
                after += WINDOW
                for start in range(0, len(window), self._batch):
                    done += await self._complete(window[start : start + self._batch])
                    elapsed = max(time.monotonic() - started, 1e-9)
                    log.info(
                        "metadata_progress",
                        done=done,
                        pending=max(0, remaining - done),
                        per_second=round(done / elapsed, 1),
                    )
            # Numbers reserved before `end` may still be written by another writer: look again
            # behind it next time.
            self._cursor = max(self._cursor, end - CURSOR_SAFETY)
        return done

    async def _complete(self, pending: list[FileRecord]) -> int:
        """Parse one batch and store what the parser read."""
        if not pending:
            return 0
        parsed = await self.parse(pending)
        changed = await self._files.complete_metadata(
            [(r.id, m) for r, m in zip(pending, parsed, strict=True)]
        )
        self.parsed += len(pending)
        if changed and self._on_changed is not None:
            await self._on_changed()
        return len(pending)

    async def parse(self, records: list[FileRecord]) -> list[FileMetadata]:
        """The accurate parser's reading of each record's name, in the worker pool."""
        names = [r.file_name for r in records]
        loop = asyncio.get_running_loop()
        if self._workers <= 1:
            return await loop.run_in_executor(self._pool(), describe_all, names)
        size = max(1, -(-len(names) // self._workers))
        chunks = [names[i : i + size] for i in range(0, len(names), size)]
        results = await asyncio.gather(
            *(loop.run_in_executor(self._pool(), describe_all, chunk) for chunk in chunks)
        )
        return [meta for chunk in results for meta in chunk]

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

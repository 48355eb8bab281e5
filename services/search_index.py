"""Keeps the full-text index (a projection on local disk) in step with MongoDB.

MongoDB is the source of truth. This service opens the index under `DATA_DIR/search`, rebuilds
it from MongoDB when it is missing, corrupt, from another schema or further behind than the
tombstones reach (in the background: searches answer "being rebuilt" meanwhile), and catches
up with the files' change feed at start, after this instance's own writes, and periodically,
so that instances sharing one database converge.

A writer reserves its change number before it writes, so a number can become visible after a
higher one was already read. The watermark never passes a number this instance's own writes
still hold (`FileRepository.unsettled_from`): what is visible beyond it is applied, and the next
catch-up reads from there again, so a file this bot stored is in the index once the catch-up
after its write returns ("done" means searchable, by construction). For other instances'
writes, every windowed catch-up re-reads `safety` numbers behind the watermark. Changes already
applied with the same number are skipped, and applying one twice would be harmless anyway
(upserts and deletes are keyed by file id).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from core.clock import Clock
from core.logging import get_logger
from core.models import FileRecord
from core.search.fulltext import (
    NO_FILTERS,
    Census,
    Filters,
    Hit,
    IndexedFile,
    IndexUnusableError,
    Ranking,
    TantivyIndex,
)
from core.utils.activity import working
from services.ports import FileRepository

__all__ = ["SearchIndexService", "indexed_file"]

log = get_logger(__name__)

T = TypeVar("T")

CATCH_UP_BATCH = 5_000
# Change numbers read at once: a window's documents are in memory twice (as read, converted)
# while the next window is read; 2,000 keeps a rebuild's peak memory flat at any library size.
REBUILD_BATCH = 2_000
PROGRESS_EVERY = 10_000  # files between two progress lines of a rebuild
REBUILD_COMMIT = 500_000  # files between commits while rebuilding (each ends a segment)
SAFETY_WINDOW = 1_000  # change numbers re-read behind the watermark
PURGE_INTERVAL = 3_600.0  # seconds between purges of old tombstones


ChangeListener = Callable[[Sequence[FileRecord], Sequence[str]], None]
"""Told what the index just applied (files upserted, ids deleted); `None`s after a rebuild."""


def indexed_file(record: FileRecord) -> IndexedFile:
    return IndexedFile(
        record.id,
        record.terms,
        record.file_type,
        title=record.title_terms,
        year=record.year,
        season=record.season,
        episode=record.episode,
        resolution=record.resolution,
        at=int(record.indexed_at.timestamp() * 1_000),
        name=record.file_name,
        size=record.file_size,
    )


class SearchIndexService:
    def __init__(
        self,
        files: FileRepository,
        directory: Path,
        *,
        safety: int = SAFETY_WINDOW,
        tombstone_days: float = 7.0,
        on_changes: ChangeListener | None = None,
        on_rebuilt: Callable[[], None] | None = None,
    ) -> None:
        """`tombstone_days`: how long deletes are kept for instances that are behind; the
        periodic loop purges older ones, and an index further behind than that rebuilds.
        `on_changes` is told what each catch-up applied and `on_rebuilt` when the index was
        rebuilt (the search result cache: `SearchResults.evict`, `.clear`)."""
        self._files = files
        self.directory = directory
        self._safety = safety
        self._index: TantivyIndex | None = None
        self._lock = asyncio.Lock()
        self._applied: dict[str, int] = {}  # file id → change number applied, inside the window
        self._rebuild: asyncio.Task[None] | None = None
        self._rebuilt_files = 0
        self._checked = 0  # the watermark when the safety window was last re-read
        self._tombstone_days = tombstone_days
        self._dirty = False  # writes since the background catch-up started
        self._soon: asyncio.Task[None] | None = None
        self.on_changes = on_changes
        self.on_rebuilt = on_rebuilt

    @property
    def ready(self) -> bool:
        """Whether searches can use the index (False while it is being rebuilt)."""
        return self._index is not None

    @property
    def watermark(self) -> int:
        return self._index.watermark if self._index is not None else 0

    @property
    def rebuilt_files(self) -> int:
        """Files written into the index by the rebuild in progress (for "being rebuilt")."""
        return self._rebuilt_files

    async def _ask(self, question: Callable[[TantivyIndex], Awaitable[T]], otherwise: T) -> T:
        """What the index answers, or `otherwise` when it cannot: while it is being rebuilt,
        or found broken just now (then a rebuild starts)."""
        index = self._index
        if index is None:
            return otherwise
        try:
            return await question(index)
        except IndexUnusableError as exc:
            self._start_rebuild(exc.reason)
            return otherwise

    async def search(
        self,
        terms: Sequence[str],
        *,
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int = 1_000,
        fuzzy_limit: int | None = None,
    ) -> list[Hit] | None:
        """Hits from the index (`FullTextIndex.search`), or None when it cannot answer."""
        return await self._ask(
            lambda index: index.search(
                terms, prefix=prefix, filters=filters, limit=limit, fuzzy_limit=fuzzy_limit
            ),
            None,
        )

    async def rank(
        self,
        variants: Sequence[Sequence[str]],
        *,
        words: Sequence[str],
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int,
        typos: bool = True,
        typos_while_below: int = 0,
    ) -> Ranking | None:
        """`FullTextIndex.rank`, or None when the index cannot answer."""
        return await self._ask(
            lambda index: index.rank(
                variants,
                words=words,
                prefix=prefix,
                filters=filters,
                limit=limit,
                typos=typos,
                typos_while_below=typos_while_below,
            ),
            None,
        )

    async def listings(self, keys: Sequence[int]) -> list[Hit] | None:
        """`FullTextIndex.listings`, or None when the index cannot answer."""
        return await self._ask(lambda index: index.listings(keys), None)

    async def documents(self) -> int | None:
        """The files in the index (None while it is being rebuilt): what the database would
        count, without counting the database."""
        return await self._ask(lambda index: index.documents(), None)

    async def census(self) -> Census | None:
        """Files by kind and bytes on disk (None while the index is being rebuilt)."""
        return await self._ask(lambda index: index.census(), None)

    async def similar_words(self, word: str, limit: int = 5) -> list[str]:
        """Real title words close to `word` ([] while the index cannot answer)."""
        return await self._ask(lambda index: index.similar_words(word, limit), [])

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the index and catch up, or start rebuilding it in the background."""
        try:
            index = await TantivyIndex.open(self.directory)
        except IndexUnusableError as exc:
            self._start_rebuild(exc.reason)
            return
        # One read of the change counter, never a count (the embedded server at a million
        # files counted them in more than DATABASE_TIMEOUT, and found one by scanning all).
        newest, purged = await self._files.sequences()
        if index.watermark == 0 and newest:
            await index.close()  # a new index beside a library (files were stored)
            self._start_rebuild("no index yet for the files in the database")
            return
        if index.watermark < purged:
            await index.close()
            self._start_rebuild(
                f"the index is at change {index.watermark}, deletes up to {purged} were purged"
            )
            return
        self._index = index
        self._checked = index.watermark
        await self.catch_up()

    async def wait_rebuilt(self) -> None:
        """Return when a rebuild in progress (if any) has finished."""
        if self._rebuild is not None:
            await asyncio.gather(self._rebuild, return_exceptions=True)

    async def close(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            await asyncio.gather(self._soon, return_exceptions=True)
            self._soon = None
        if self._rebuild is not None:
            self._rebuild.cancel()
            await asyncio.gather(self._rebuild, return_exceptions=True)
            self._rebuild = None
        async with self._lock:
            if self._index is not None:
                with contextlib.suppress(IndexUnusableError):  # a damaged one: nothing to keep
                    await self._index.close()
                self._index = None

    async def purge(self, clock: Clock) -> int:
        """Delete tombstones older than the retention period (after catching up with them)."""
        cutoff = clock.now() - timedelta(days=self._tombstone_days)
        purged = await self._files.purge_tombstones(cutoff)
        if purged:
            log.info("search_tombstones_purged", tombstones=purged, before=cutoff.isoformat())
        return purged

    # --- catching up -------------------------------------------------------------------------

    def catch_up_soon(self) -> None:
        """Catch up in the background (bulk writers: an index job's batches): one catch-up at a
        time, and one more after it when writes came meanwhile, so the writer never waits for
        the index and every batch becomes searchable a moment after it is stored."""
        self._dirty = True
        if self._soon is None or self._soon.done():
            self._soon = asyncio.create_task(self._catch_up_while_dirty())

    async def _catch_up_while_dirty(self) -> None:
        with working():
            while self._dirty:
                self._dirty = False
                try:
                    await self.catch_up(window=False)
                except Exception as exc:  # noqa: BLE001 - the periodic loop catches up later
                    log.warning("search_index_catch_up_failed", error=str(exc))

    async def catch_up(self, *, window: bool = True) -> int:
        """Apply every change after the watermark; returns how many.

        With `window` (the periodic loop, start-up), the safety window is re-read too: from
        `safety` numbers behind where the last windowed catch-up ended, so changes applied by
        quick catch-ups in between (`window=False`, after this instance's own writes) are
        covered as well, however many there were."""
        applied = 0
        with working():
            async with self._lock:
                index = self._index
                if index is None:
                    return 0
                newest, purged = await self._files.sequences()  # one read for the whole run
                settled = await self._settled(newest)
                if index.watermark < purged:
                    self._start_rebuild(
                        f"the index is at change {index.watermark}, "
                        f"deletes up to {purged} were purged"
                    )
                    return 0
                if window:
                    after = max(0, min(self._checked, index.watermark) - self._safety)
                    self._checked = index.watermark
                else:
                    after = index.watermark
                while True:
                    changes = await self._files.changes_since(
                        after, CATCH_UP_BATCH, known=self._applied, upto=newest
                    )
                    fresh = {
                        file_id
                        for file_id, number in changes.numbers.items()
                        if self._applied.get(file_id) != number
                    }
                    records = [r for r in changes.upserts if r.id in fresh]
                    deletes = [i for i in changes.deletes if i in fresh]
                    reached = min(changes.last, settled)
                    if records or deletes or reached > index.watermark:
                        try:
                            await index.apply(
                                [indexed_file(r) for r in records],
                                deletes,
                                watermark=max(index.watermark, reached),
                            )
                        except IndexUnusableError as exc:
                            # Damaged under the running bot (deleted, overwritten): MongoDB
                            # holds every file; the rebuild brings them all back.
                            self._start_rebuild(exc.reason)
                            return applied
                    if (records or deletes) and self.on_changes is not None:
                        self.on_changes(records, deletes)
                    applied += len(records) + len(deletes)
                    for file_id in fresh:
                        self._applied[file_id] = changes.numbers[file_id]
                    if not changes.more or changes.last == after:  # caught up
                        break
                    after = changes.last
                floor = min(self._checked, index.watermark) - self._safety
                self._applied = {i: n for i, n in self._applied.items() if n > floor}
        return applied

    async def _settled(self, newest: int) -> int:
        """The highest number the watermark may reach after reading `newest` from the counter:
        below this instance's first write still in flight, whose documents may not be visible
        yet (a catch-up then reads from there again)."""
        unsettled = await self._files.unsettled_from()
        return newest if unsettled is None else min(newest, unsettled - 1)

    # --- rebuilding --------------------------------------------------------------------------

    def _start_rebuild(self, reason: str) -> None:
        if self._rebuild is not None and not self._rebuild.done():
            return
        log.warning("search_index_rebuild", reason=reason, directory=str(self.directory))
        broken, self._index = self._index, None
        self._rebuild = asyncio.create_task(self._replace(broken))

    async def _replace(self, broken: TantivyIndex | None) -> None:
        """Rebuild, after letting go of the index found broken (its writer's threads and lock)."""
        if broken is not None:
            with contextlib.suppress(IndexUnusableError):
                await broken.close()
        await self.rebuild()

    async def rebuild(self) -> None:
        """A new index from every file in MongoDB; searches answer "being rebuilt" until done."""
        with working():
            started = time.monotonic()
            # Later writes, and this instance's writes in flight now, are caught up after.
            watermark = await self._settled(await self._files.last_sequence())
            index = await TantivyIndex.create(self.directory, bulk=True)
            done = 0
            self._rebuilt_files = 0
            # Newest first: within a segment the index keeps files in the order written, and
            # a read of a group's best files by `order` (newer is better) costs least when
            # the best come first (docs/PERFORMANCE.md, "Broad queries").
            pages = self._files.scan(REBUILD_BATCH, newest_first=True)
            upcoming = asyncio.ensure_future(anext(pages, None))
            while (page := await upcoming) is not None:
                # The next page is read while this one is written (one commit at the end).
                upcoming = asyncio.ensure_future(anext(pages, None))
                done += len(page)
                try:
                    await index.apply(
                        [indexed_file(r) for r in page],
                        [],
                        watermark=0,
                        commit=done % REBUILD_COMMIT < len(page),  # now and then: bounded memory
                        fresh=True,
                    )
                except BaseException:
                    upcoming.cancel()
                    raise
                self._rebuilt_files = done
                if done % PROGRESS_EVERY < len(page):
                    log.info("search_index_rebuild_progress", files=done)
            await index.apply([], [], watermark=watermark)
            await index.end_bulk()
            async with self._lock:
                self._index = index
                self._applied.clear()
                self._checked = watermark
            if self.on_rebuilt is not None:
                self.on_rebuilt()
            log.info(
                "search_index_rebuilt",
                files=done,
                seconds=round(time.monotonic() - started, 1),
            )
        await self.catch_up()

"""Indexing a channel's existing posts as a durable job (`/index`).

Bots cannot read a channel's history; they ask for posts by id. A job walks the ids from first to
last in batches (at most 200), stores each batch's files through the indexing service (duplicates
by unique id and by name + size are skipped and counted) and then writes its checkpoint (the last
id done) and counters to the `jobs` collection (kind "index"). A process killed at any moment
resumes from the checkpoint: a batch stored but not yet checkpointed is stored again, which
changes nothing (its files are recognised by unique id).

States: pending (queued) → running → done, or paused (by an admin, or because the bot lost
access to the channel) / cancelled / failed. Jobs run one at a time, oldest first; there is at
most one unfinished job per channel. A FloodWait on a fetch, however long, is waited out and
shown in the progress; other Telegram errors are retried with backoff, then pause the job.

The progress is reported through `show` (the admin's progress message, edited by the caller) at
most every `progress_seconds`, and at once when the state changes; `show` must never raise for
the job's sake, and a failure there never stops the job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.clock import Clock
from core.logging import get_logger
from core.models import ChannelInfo, JobRecord, Post
from core.utils.activity import waiting, working
from core.utils.errors import ChannelUnreadableError, FloodWaitError, TelegramError
from services.channels import ChannelDirectory
from services.indexing import IndexingService
from services.job_runner import LEASE, JobRunner, open_job
from services.ports import JobRepository

__all__ = [
    "COUNTERS",
    "KIND",
    "ChannelIndexer",
    "ChannelReader",
    "IndexProgress",
    "Show",
    "Submitted",
]

log = get_logger(__name__)

KIND = "index"
COUNTERS = ("fetched", "indexed", "duplicates", "not_media", "missing", "errors")
RETRIES = 5  # transient Telegram errors on one batch before the job pauses
MAX_BACKOFF = 60.0


class ChannelReader(Protocol):
    async def describe(self, chat: int | str) -> ChannelInfo: ...
    async def read(self, chat_id: int, ids: Sequence[int]) -> list[Post]: ...


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """What the admin's progress message shows."""

    job_id: str
    state: str
    title: str
    first: int
    last: int
    done: int  # the last id done (first - 1 before the first batch)
    counters: dict[str, int]
    per_second: float = 0.0
    waiting: float = 0.0  # seconds of FloodWait being waited out now
    reason: str | None = None  # why it paused or failed
    queued_behind: int = 0

    @property
    def total(self) -> int:
        return self.last - self.first + 1

    @property
    def processed(self) -> int:
        return max(0, self.done - self.first + 1)

    @property
    def fraction(self) -> float:
        return min(1.0, self.processed / self.total) if self.total > 0 else 1.0

    @property
    def eta_seconds(self) -> float | None:
        remaining = self.total - self.processed
        return remaining / self.per_second if self.per_second > 0 and remaining > 0 else None


@dataclass(frozen=True, slots=True)
class Submitted:
    job: JobRecord
    created: bool  # False: the channel already had an unfinished job, which is returned


Show = Callable[[JobRecord, IndexProgress], Awaitable[None]]
Tell = Callable[[int, str], Awaitable[None]]


@dataclass
class _Run:
    """One job being worked on by this instance."""

    job: JobRecord
    counters: dict[str, int]
    done: int
    started: float
    posts_at_start: int
    shown_at: float = field(default=-1e18)


class ChannelIndexer(JobRunner):
    kind = KIND

    def __init__(
        self,
        jobs: JobRepository,
        indexing: IndexingService,
        reader: ChannelReader,
        clock: Clock,
        *,
        channels: ChannelDirectory,
        show: Show,
        tell: Tell,
        batch: int = 200,
        progress_seconds: float = 5.0,
        owner: str | None = None,
    ) -> None:
        super().__init__(jobs, clock, owner=owner)
        self._indexing = indexing
        self._reader = reader
        self._channels = channels
        self._show = show
        self._tell = tell
        self._batch = max(1, min(batch, 200))
        self._progress_seconds = progress_seconds

    # --- what admins ask for ------------------------------------------------------------------

    async def describe(self, chat: int | str) -> ChannelInfo:
        """The channel, if the bot can read it (else `ChannelUnreadableError`)."""
        return await self._reader.describe(chat)

    async def indexed_from(self, chat_id: int) -> int:
        return await self._indexing.count_in_chat(chat_id)

    async def submit(
        self, channel: ChannelInfo, first: int, last: int, *, admin_chat: int, message_id: int
    ) -> Submitted:
        """Queue a job for posts first..last of the channel, unless it has one unfinished."""
        key = str(channel.chat_id)
        params: dict[str, object] = {
            "key": key,
            "chat_id": channel.chat_id,
            "title": channel.title,
            "first": first,
            "last": last,
            "admin_chat": admin_chat,
            "message_id": message_id,
        }
        job, created = await open_job(self._jobs, KIND, params, self._clock.now())
        if not created:
            return Submitted(job, created=False)
        log.info("index_job_queued", job_id=job.id, chat_id=channel.chat_id, first=first, last=last)
        self.wake()
        return Submitted(job, created=True)

    async def _changed(self, job: JobRecord) -> None:
        await self._show_quietly(lambda: self._show(job, self.progress_of(job)), job.id)

    def progress_of(self, job: JobRecord, **extra: float | str | None) -> IndexProgress:
        """The progress a stored job shows (its counters and checkpoint)."""
        first, last = _range(job)
        return IndexProgress(
            job_id=job.id,
            state=job.state,
            title=str(job.params.get("title", "")),
            first=first,
            last=last,
            done=int(str(job.checkpoint.get("done", first - 1))),
            counters={name: int(job.counters.get(name, 0)) for name in COUNTERS},
            reason=job.error,
            **extra,  # type: ignore[arg-type]  # the optional fields above, by name
        )

    # --- the work ----------------------------------------------------------------------------

    async def _work(self, job: JobRecord) -> None:
        claimed = await self._claim(job)
        if claimed is None:
            return
        first, last = _range(claimed)
        run = _Run(
            job=claimed,
            counters={name: int(claimed.counters.get(name, 0)) for name in COUNTERS},
            done=int(str(claimed.checkpoint.get("done", first - 1))),
            started=self._clock.monotonic(),
            posts_at_start=0,
        )
        run.posts_at_start = max(0, run.done - first + 1)
        chat_id = int(str(claimed.params["chat_id"]))
        log.info(
            "index_job_started" if run.done < first else "index_job_resumed_from_checkpoint",
            job_id=claimed.id,
            chat_id=chat_id,
            after=run.done,
            last=last,
        )
        await self._report(run, force=True)
        failures = 0
        # The next batch is fetched while the last one is stored: Telegram and the database
        # work at the same time.
        ids = self._ids_after(run.done, last)
        pending: asyncio.Future[list[Post]] | None = self._fetch(chat_id, ids)
        try:
            while pending is not None:
                try:
                    posts = await pending
                except _Flood as flood:
                    # The wait runs from Telegram's answer, which may have come while the
                    # last batch was still being stored.
                    remaining = flood.until - self._clock.monotonic()
                    if not await self._wait_flood(run, flood.seconds, remaining):
                        return
                    pending = self._fetch(chat_id, ids)
                    continue
                except ChannelUnreadableError as exc:
                    await self._pause_for(run, exc.reason)
                    return
                except (TelegramError, OSError, TimeoutError) as exc:
                    failures += 1
                    run.counters["errors"] += 1
                    if failures > RETRIES:
                        await self._pause_for(run, f"Telegram kept failing ({_describe(exc)})")
                        return
                    delay = min(MAX_BACKOFF, 2.0 ** (failures - 1))
                    log.info(
                        "index_fetch_retry", job_id=run.job.id, attempt=failures, seconds=delay
                    )
                    await self._clock.sleep(delay)
                    pending = self._fetch(chat_id, ids)
                    continue
                failures = 0
                done_ids, ids = ids, self._ids_after(ids[-1], last)
                pending = self._fetch(chat_id, ids) if ids else None
                if not await self._store(run, done_ids, posts):
                    return
                await self._report(run)
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
        await self._indexing.searchable()  # the last batches, before "done" is shown
        if await self._jobs.finish(run.job.id, "done", self._clock.now()):
            log.info("index_job_done", job_id=run.job.id, **run.counters)
            await self._report(run, state="done", force=True)

    def _ids_after(self, done: int, last: int) -> list[int]:
        return list(range(done + 1, min(done + self._batch, last) + 1))

    def _fetch(self, chat_id: int, ids: list[int]) -> asyncio.Future[list[Post]]:
        fetch = asyncio.ensure_future(self._read(chat_id, ids))
        # A fetch abandoned when the job stops is not awaited: its error is not news.
        fetch.add_done_callback(lambda f: f.cancelled() or f.exception())
        return fetch

    async def _read(self, chat_id: int, ids: list[int]) -> list[Post]:
        try:
            with working():  # work of its own task (a short FloodWait is slept in it)
                return await self._reader.read(chat_id, ids)
        except FloodWaitError as exc:
            raise _Flood(exc.retry_after, self._clock.monotonic() + exc.retry_after) from exc

    async def _store(self, run: _Run, ids: list[int], posts: list[Post]) -> bool:
        """Index one batch and checkpoint it; False when the job must stop (an admin paused or
        cancelled it, or another instance took it over)."""
        files = [p.file for p in posts if p.file is not None]
        report = await self._indexing.index(files, only_new=True) if files else None
        if files:
            await self._channels.note_post(
                files[-1].chat_id,
                max(f.message_id for f in files),
                title=str(run.job.params.get("title", "")) or None,
            )
        run.counters["fetched"] += len(ids)
        run.counters["missing"] += sum(1 for p in posts if not p.exists)
        run.counters["not_media"] += sum(1 for p in posts if p.exists and p.file is None)
        if report is not None:
            run.counters["indexed"] += report.inserted + report.updated
            run.counters["duplicates"] += report.duplicates
            # a file type the index does not take (a sticker sent as a document, say)
            run.counters["not_media"] += len(files) - (
                report.inserted + report.updated + report.duplicates
            )
        run.done = ids[-1]
        return await self._checkpoint(run)

    async def _checkpoint(self, run: _Run) -> bool:
        """Save the last id done and the counts, and extend the lease; False (after saying
        so) when the job is no longer this worker's to run: paused, cancelled, taken over."""
        now = self._clock.now()
        saved = await self._jobs.checkpoint(
            run.job.id,
            self._owner,
            checkpoint={"done": run.done},
            counters=dict(run.counters),
            now=now,
            lease_until=now + LEASE,
        )
        if not saved:
            await self._stopped(run)
        return saved

    async def _stopped(self, run: _Run) -> None:
        current = await self._jobs.get(run.job.id)
        state = current.state if current is not None else "cancelled"
        log.info("index_job_stopped", job_id=run.job.id, state=state, after=run.done)
        if current is not None and state in ("paused", "cancelled"):
            await self._report(run, state=state, force=True)

    async def _wait_flood(self, run: _Run, seconds: float, remaining: float) -> bool:
        """Wait out a FloodWait of `seconds`, `remaining` of which are left (not counted as
        work: nothing runs meanwhile); False when the job was paused or cancelled meanwhile."""
        log.warning("index_flood_wait", job_id=run.job.id, seconds=seconds)
        await self._report(run, waiting=seconds, force=True)
        if remaining > 0:
            with waiting():
                await self._clock.sleep(remaining)
        return await self._checkpoint(run)

    async def _pause_for(self, run: _Run, reason: str) -> None:
        now = self._clock.now()
        paused = await self._jobs.transition(run.job.id, ("running",), "paused", now, error=reason)
        if paused is None:
            await self._stopped(run)
            return
        log.warning("index_job_paused", job_id=run.job.id, reason=reason, after=run.done)
        await self._report(run, state="paused", reason=reason, force=True)
        admin_chat = run.job.params.get("admin_chat")
        if isinstance(admin_chat, int):
            await self._tell(
                admin_chat,
                f"Indexing {run.job.params.get('title', '')} paused: {reason} "
                f"Resume it from its progress message or /jobs once fixed.",
            )

    async def _report(
        self,
        run: _Run,
        *,
        state: str = "running",
        waiting: float = 0.0,
        reason: str | None = None,
        force: bool = False,
    ) -> None:
        now = self._progress_due(run, force=force, every=self._progress_seconds)
        if now is None:
            return
        first, last = _range(run.job)
        elapsed = now - run.started
        processed = max(0, run.done - first + 1) - run.posts_at_start
        progress = IndexProgress(
            job_id=run.job.id,
            state=state,
            title=str(run.job.params.get("title", "")),
            first=first,
            last=last,
            done=run.done,
            counters=dict(run.counters),
            per_second=processed / elapsed if elapsed > 0 and processed > 0 else 0.0,
            waiting=waiting,
            reason=reason,
        )
        await self._show_quietly(lambda: self._show(run.job, progress), run.job.id)


class _Flood(Exception):  # noqa: N818 - not an error: an instruction to wait
    """A fetch was answered with a FloodWait of `seconds`, which ends at `until` (monotonic)."""

    def __init__(self, seconds: float, until: float) -> None:
        super().__init__(f"FloodWait of {seconds:g} s")
        self.seconds = seconds
        self.until = until


def _range(job: JobRecord) -> tuple[int, int]:
    return int(str(job.params.get("first", 1))), int(str(job.params.get("last", 0)))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TelegramError):
        return exc.telegram_id
    return type(exc).__name__

"""Broadcasts as durable jobs: one message copied to every user and/or group, at Telegram's
pace, at most once per recipient, resumed after a crash.

The recipients are frozen when the job starts (`broadcast_recipients`, chunks of ids). The job
walks them in small batches: it first records the batch as *in flight* in its checkpoint, then
sends the batch (concurrently, paced by the sender's rate limiter), then records the outcome and
moves the checkpoint past it. A process killed while a batch is in flight cannot know which of
those messages left: on resume they are counted as "unknown" and never sent again. FloodWait of
any length is waited out and the recipients it refused are sent afterwards (a refused send did
not happen). Recipients who blocked the bot or deleted their account are marked (users) or
recorded as left (groups), and the next broadcast skips them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.clock import Clock
from core.logging import get_logger
from core.models import AUDIENCES, JobRecord, Outcome
from core.utils.activity import waiting, working
from core.utils.errors import FloodWaitError
from services.job_runner import LEASE, JobRunner, open_job
from services.ports import JobRepository, RecipientRepository

__all__ = [
    "AUDIENCES",
    "COUNTERS",
    "KIND",
    "BroadcastProgress",
    "Broadcaster",
    "Sender",
    "ShowBroadcast",
]

log = get_logger(__name__)

KIND = "broadcast"
COUNTERS = ("sent", "blocked", "failed", "unknown")
BATCH = 8  # recipients in flight at once (at most what a crash leaves "unknown")


class Sender(Protocol):
    """Sends a broadcast's message; `load` once per run, then `send` per recipient (which
    raises `FloodWaitError` when Telegram asks for a wait longer than the sender's own)."""

    async def load(self, params: dict[str, object]) -> str | None: ...
    async def send(self, chat_id: int, *, pin: bool) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    job_id: str
    state: str
    audience: str
    total: int
    counters: dict[str, int] = field(default_factory=dict)
    per_second: float = 0.0
    waiting: float = 0.0
    reason: str | None = None

    @property
    def done(self) -> int:
        return sum(self.counters.get(name, 0) for name in COUNTERS)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0

    @property
    def eta_seconds(self) -> float | None:
        return self.remaining / self.per_second if self.per_second > 0 else None


ShowBroadcast = Callable[[JobRecord, BroadcastProgress], Awaitable[None]]
Gone = Callable[[int], Awaitable[object]]


@dataclass
class _Run:
    job: JobRecord
    counters: dict[str, int]
    total: int
    chunks: int
    chunk: int
    offset: int
    started: float
    done_at_start: int
    shown_at: float = -1e18


class Broadcaster(JobRunner):
    kind = KIND

    def __init__(
        self,
        jobs: JobRepository,
        recipients: RecipientRepository,
        sender: Sender,
        clock: Clock,
        *,
        show: ShowBroadcast,
        user_gone: Gone,
        group_gone: Gone,
        progress_seconds: float = 5.0,
        owner: str | None = None,
    ) -> None:
        super().__init__(jobs, clock, owner=owner)
        self._recipients = recipients
        self._sender = sender
        self._show = show
        self._user_gone = user_gone
        self._group_gone = group_gone
        self._progress_seconds = progress_seconds

    async def audience_size(self, audience: str) -> int:
        return await self._recipients.count(audience)

    async def submit(
        self,
        audience: str,
        *,
        admin_chat: int,
        source_message: int,
        text_only: bool,
        pin: bool,
        message_id: int,
    ) -> JobRecord:
        """Queue a broadcast of the admin's message `source_message` (its copy, or with
        `text_only` the text after `/broadcast <audience>`)."""
        if audience not in AUDIENCES:
            raise ValueError(f"unknown audience {audience!r}")
        params: dict[str, object] = {
            "key": f"{admin_chat}:{source_message}",
            "audience": audience,
            "admin_chat": admin_chat,
            "source_message": source_message,
            "text_only": text_only,
            "pin": pin,
            "message_id": message_id,
        }
        job, created = await open_job(self._jobs, KIND, params, self._clock.now())
        if not created:  # the confirmation pressed twice
            return job
        log.info("broadcast_job_queued", job_id=job.id, audience=audience)
        self.wake()
        return job

    async def _changed(self, job: JobRecord) -> None:
        await self._show_quietly(lambda: self._show(job, self.progress_of(job)), job.id)

    def progress_of(self, job: JobRecord) -> BroadcastProgress:
        return BroadcastProgress(
            job_id=job.id,
            state=job.state,
            audience=str(job.params.get("audience", "")),
            total=int(str(job.checkpoint.get("total", 0))),
            counters={name: int(job.counters.get(name, 0)) for name in COUNTERS},
            reason=job.error,
        )

    # --- the work ----------------------------------------------------------------------------

    async def _work(self, job: JobRecord) -> None:
        claimed = await self._claim(job)
        if claimed is None:
            return
        run = await self._start(claimed)
        if run is None:
            return
        problem = await self._sender.load(claimed.params)
        if problem is not None:
            await self._jobs.finish(claimed.id, "failed", self._clock.now(), error=problem)
            log.warning("broadcast_job_failed", job_id=claimed.id, reason=problem)
            await self._report(run, state="failed", reason=problem, force=True)
            return
        await self._report(run, force=True)
        pin = bool(claimed.params.get("pin"))
        while run.chunk < run.chunks:
            read = functools.partial(self._recipients.chunk, claimed.id, run.chunk)
            ids = await self._durable(claimed.id, read)
            while run.offset < len(ids):
                batch = ids[run.offset : run.offset + BATCH]
                # In flight first: a crash from here on makes these "unknown", never resent.
                if not await self._save(run, in_flight=batch):
                    return
                if not await self._send(run, batch, pin=pin):
                    return
                run.offset += len(batch)
                if not await self._save(run):
                    return
                await self._report(run)
            run.chunk, run.offset = run.chunk + 1, 0
        if await self._durable(
            claimed.id, lambda: self._jobs.finish(claimed.id, "done", self._clock.now())
        ):
            log.info("broadcast_job_done", job_id=claimed.id, total=run.total, **run.counters)
            await self._report(run, state="done", force=True)
        await self._durable(claimed.id, lambda: self._recipients.drop(claimed.id))

    async def _start(self, job: JobRecord) -> _Run | None:
        """The run as the checkpoint left it: recipients frozen on the first run; a batch
        that was in flight when the process died counted as unknown."""
        checkpoint = job.checkpoint
        counters = {name: int(job.counters.get(name, 0)) for name in COUNTERS}
        if "chunks" not in checkpoint:
            total, chunks = await self._recipients.freeze(
                job.id, str(job.params.get("audience", "users"))
            )
            log.info("broadcast_job_started", job_id=job.id, recipients=total)
            checkpoint = {"total": total, "chunks": chunks, "chunk": 0, "offset": 0}
        lost = checkpoint.get("in_flight") or []
        if isinstance(lost, list) and lost:
            counters["unknown"] += len(lost)
            log.warning("broadcast_unknown_after_restart", job_id=job.id, recipients=len(lost))
            checkpoint = {**checkpoint, "offset": int(str(checkpoint["offset"])) + len(lost)}
        run = _Run(
            job=job,
            counters=counters,
            total=int(str(checkpoint["total"])),
            chunks=int(str(checkpoint["chunks"])),
            chunk=int(str(checkpoint["chunk"])),
            offset=int(str(checkpoint["offset"])),
            started=self._clock.monotonic(),
            done_at_start=sum(counters.values()),
        )
        return run if await self._save(run) else None

    async def _send(self, run: _Run, batch: list[int], *, pin: bool) -> bool:
        """Send to every recipient of `batch`; those refused with a FloodWait are sent again
        once it is over. False when the job stopped meanwhile (a pause or cancel during a
        wait)."""
        pending = batch
        while pending:
            results = await asyncio.gather(*(self._send_one(c, pin=pin) for c in pending))
            floods = [(c, r) for c, r in zip(pending, results, strict=True) if isinstance(r, float)]
            for chat_id, result in zip(pending, results, strict=True):
                if isinstance(result, Outcome):
                    await self._count(run, chat_id, result)
            if not floods:
                return True
            pending = [c for c, _ in floods]
            wait = max(seconds for _, seconds in floods)
            log.warning("broadcast_flood_wait", job_id=run.job.id, seconds=wait)
            await self._report(run, waiting=wait, force=True)
            with waiting():
                await self._clock.sleep(wait)
            current = await self._durable(run.job.id, lambda: self._jobs.get(run.job.id))
            if current is None or current.state != "running" or current.owner != self._owner:
                # Stopped during the wait: the refused ones were never sent.
                await self._stopped(run, current)
                return False
        return True

    async def _send_one(self, chat_id: int, *, pin: bool) -> Outcome | float:
        try:
            with working():  # its own task: its rate pacing is part of the work
                return await self._sender.send(chat_id, pin=pin)
        except FloodWaitError as exc:
            return float(exc.retry_after or 1.0)
        except Exception as exc:  # noqa: BLE001 - one recipient's failure never stops the job
            log.info("broadcast_send_failed", chat_id=chat_id, error=type(exc).__name__)
            return Outcome.FAILED

    async def _count(self, run: _Run, chat_id: int, outcome: Outcome) -> None:
        run.counters[outcome.value] += 1
        if outcome is Outcome.BLOCKED:
            gone = self._user_gone if chat_id > 0 else self._group_gone
            await self._durable(run.job.id, lambda: gone(chat_id))

    async def _save(self, run: _Run, *, in_flight: list[int] | None = None) -> bool:
        now = self._clock.now()
        checkpoint: dict[str, object] = {
            "total": run.total,
            "chunks": run.chunks,
            "chunk": run.chunk,
            "offset": run.offset,
            "in_flight": in_flight or [],
        }
        counters = dict(run.counters)
        saved = await self._durable(
            run.job.id,
            lambda: self._jobs.checkpoint(
                run.job.id,
                self._owner,
                checkpoint=checkpoint,
                counters=counters,
                now=now,
                lease_until=now + LEASE,
            ),
        )
        if not saved:
            current = await self._durable(run.job.id, lambda: self._jobs.get(run.job.id))
            await self._stopped(run, current)
        return saved

    async def _stopped(self, run: _Run, current: JobRecord | None) -> None:
        state = current.state if current is not None else "cancelled"
        log.info("broadcast_job_stopped", job_id=run.job.id, state=state)
        if state in ("paused", "cancelled"):
            await self._report(run, state=state, force=True)
        if state == "cancelled":
            await self._recipients.drop(run.job.id)

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
        elapsed = now - run.started
        processed = sum(run.counters.values()) - run.done_at_start
        progress = BroadcastProgress(
            job_id=run.job.id,
            state=state,
            audience=str(run.job.params.get("audience", "")),
            total=run.total,
            counters=dict(run.counters),
            per_second=processed / elapsed if elapsed > 0 and processed > 0 else 0.0,
            waiting=waiting,
            reason=reason,
        )
        await self._show_quietly(lambda: self._show(run.job, progress), run.job.id)

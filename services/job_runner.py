"""The runner every durable job kind shares: claim (with a lease), run oldest first, wake on
demand, look for abandoned jobs periodically, pause / resume / cancel, and `_durable` for a
running job's database calls.

State, checkpoint and lease live in the `jobs` collection (`repositories/jobs.py`). A subclass
names its `kind` and implements `_work(job)`: claim it with `_claim`, save progress with
`_jobs.checkpoint(...)` (False: the job was paused, cancelled or taken over), finish it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from core.clock import Clock
from core.logging import get_logger
from core.models import ACTIVE_STATES, OPEN_STATES, JobRecord
from core.utils.activity import Held, hold, waiting, working
from core.utils.errors import StorageError
from services.ports import JobRepository

__all__ = ["LEASE", "POLL_SECONDS", "JobRunner", "open_job"]


class _Shown(Protocol):
    shown_at: float


log = get_logger(__name__)

LEASE = timedelta(seconds=90)
POLL_SECONDS = 30.0  # how often jobs left behind by a stopped instance are looked for
OPEN_ATTEMPTS = 5  # a job that keeps ending and being opened by others between two reads
DATABASE_RETRY_MAX = 30.0  # seconds between two attempts of a running job to reach the database

T = TypeVar("T")


async def open_job(
    jobs: JobRepository, kind: str, params: dict[str, object], now: datetime
) -> tuple[JobRecord, bool]:
    """The unfinished job of `kind` for `params["key"]`, or a new one: (job, created). Atomic:
    presses that race (a double tap, two admins) get the same job, never two."""
    key = str(params["key"])
    for _ in range(OPEN_ATTEMPTS):
        existing = await jobs.active_with(kind, key, OPEN_STATES)
        if existing is not None:
            return existing, False
        created = await jobs.create_exclusive(kind, params, now)
        if created is not None:
            return created, True
        # Another press created it between the two reads (or it ended just now): look again.
    raise StorageError(
        "jobs.create", f"jobs.create failed: no {kind} job for {key} could be opened"
    )


class JobRunner:
    """Runs the jobs of one `kind`, one at a time, oldest first."""

    kind = ""

    def __init__(
        self,
        jobs: JobRepository,
        clock: Clock,
        *,
        owner: str | None = None,
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        self._owner = owner or f"{self.kind}-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._reserved: list[Held] = []  # wake-ups handed to the runner, not picked up yet

    def _event(self, what: str) -> str:
        """A log event name of this kind: `index_job_paused`, `broadcast_job_paused`, ..."""
        return f"{self.kind}_{what}"

    # --- what admins ask for ------------------------------------------------------------------

    async def pause(self, job_id: str) -> JobRecord | None:
        job = await self._jobs.transition(job_id, ACTIVE_STATES, "paused", self._clock.now())
        if job is not None:
            log.info(self._event("job_paused"), job_id=job_id, by="admin")
            await self._changed(job)
        return job

    async def resume(self, job_id: str) -> JobRecord | None:
        job = await self._jobs.transition(job_id, ("paused",), "pending", self._clock.now())
        if job is not None:
            log.info(self._event("job_resumed"), job_id=job_id)
            await self._changed(job)
            self.wake()
        return job

    async def cancel(self, job_id: str) -> JobRecord | None:
        job = await self._jobs.transition(job_id, OPEN_STATES, "cancelled", self._clock.now())
        if job is not None:
            log.info(self._event("job_cancelled"), job_id=job_id)
            await self._changed(job)
        return job

    async def _changed(self, job: JobRecord) -> None:
        """An admin changed the job's state (a button, `/cancel`, whoever pressed it and
        wherever): its progress message shows the new state at once."""

    async def get(self, job_id: str) -> JobRecord | None:
        return await self._jobs.get(job_id)

    async def find(self, prefix: str) -> list[JobRecord]:
        """Jobs of this kind whose id starts with what the admin typed."""
        return [j for j in await self._jobs.by_prefix(prefix.lower()) if j.kind == self.kind]

    async def running_jobs(self) -> int:
        """Jobs of any kind queued or running now (for `/health`)."""
        return len(await self._jobs.active())

    async def recent(self, limit: int = 10) -> list[JobRecord]:
        """The newest jobs of this kind."""
        return await self._jobs.recent(limit, self.kind)

    # --- the runner ---------------------------------------------------------------------------

    def wake(self) -> None:
        """A job was queued or resumed: run it now rather than at the next poll. Counted as
        background work until the runner picks it up (so a test sees the job start)."""
        if not self._wake.is_set():
            self._reserved.append(hold())
        self._wake.set()

    def _picked_up(self) -> None:
        while self._reserved:
            self._reserved.pop().release()

    async def run(self) -> None:
        """Run queued jobs one at a time, at start (resuming what a stopped process left) and
        whenever woken; look for abandoned jobs every POLL_SECONDS."""
        self.wake()
        while True:
            waiter = asyncio.ensure_future(self._wake.wait())
            sleeper = asyncio.ensure_future(self._clock.sleep(POLL_SECONDS))
            try:
                await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                sleeper.cancel()
            with working():
                self._wake.clear()
                self._picked_up()
                try:
                    await self.run_pending()
                except Exception as exc:  # noqa: BLE001 - the runner must survive a bad moment
                    log.warning(self._event("jobs_failed"), error=str(exc) or type(exc).__name__)

    async def run_pending(self) -> None:
        """Run every job that can be claimed, oldest first, until none is left."""
        while True:
            now = self._clock.now()
            candidates = sorted(
                (
                    j
                    for j in await self._jobs.active()
                    if j.kind == self.kind
                    and (
                        j.owner in (None, self._owner)
                        or (j.lease_until is not None and j.lease_until < now)
                    )
                ),
                key=lambda j: j.created_at,
            )
            if not candidates:
                return
            await self._work(candidates[0])

    def _progress_due(self, run: _Shown, *, force: bool, every: float) -> float | None:
        """The time now if `run`'s progress should be shown (at most every `every` seconds,
        at once when `force`d), else None; the time is recorded as shown."""
        now = self._clock.monotonic()
        if not force and now - run.shown_at < every:
            return None
        run.shown_at = now
        return now

    async def _show_quietly(self, show: Callable[[], Awaitable[None]], job_id: str) -> None:
        """Show progress; a failure there (a FloodWait on the edit ...) never stops the job."""
        try:
            await show()
        except Exception as exc:  # noqa: BLE001 - the progress message never stops the job
            log.info(self._event("progress_not_shown"), job_id=job_id, error=type(exc).__name__)

    async def _claim(self, job: JobRecord) -> JobRecord | None:
        now = self._clock.now()
        return await self._jobs.claim(job.id, self._owner, now, now + LEASE)

    async def _work(self, job: JobRecord) -> None:
        raise NotImplementedError

    async def _durable(self, job_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """A database call of a running job that holds work in memory (recipients sent and
        still to send): a storage error waits for the database (1, 2, 4 … 30 s) and tries
        again, so an outage pauses the job instead of turning what it holds into losses. The
        wait is not busy work; stopping the bot cancels it (then the checkpoint decides)."""
        wait, waited = 1.0, False
        while True:
            try:
                result = await call()
            except StorageError as exc:
                if not waited:
                    event = self._event("job_waiting_for_database")
                    log.warning(event, job_id=job_id, error=str(exc))
                    waited = True
                with waiting():
                    await self._clock.sleep(wait)
                wait = min(wait * 2, DATABASE_RETRY_MAX)
                continue
            if waited:
                log.info(self._event("job_database_back"), job_id=job_id)
            return result

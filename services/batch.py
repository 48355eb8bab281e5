"""Batch links: a link to a range of channel posts delivers their files in order, paced under
Telegram's per-chat limit, and resumes after a restart.

Opening the link queues a job (kind "batch") for that user; each file goes out through the one
delivery path (`deliver`: the access policy with the link's override, force-subscribe, then the
file) and the job's checkpoint moves past its post. Unlike index jobs, several users' batches
run at once, each in its own task. A process killed between a file and its checkpoint sends
that one file again after the restart (a file twice is better than one lost).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from core.clock import Clock
from core.logging import get_logger
from core.models import JobRecord, LinkRecord
from core.telegram.errors import as_app_error, info_for
from core.utils.activity import waiting, working
from core.utils.errors import BannedError, NotFoundError, RateLimitedError
from services.job_runner import LEASE, JobRunner
from services.ports import FileRepository, JobRepository

__all__ = ["BATCH_INTERVAL", "KIND", "BatchDeliveries", "Deliver"]

log = get_logger(__name__)

KIND = "batch"
BATCH_INTERVAL = 1.1  # seconds between two files to one chat (Telegram allows about 1/s)
READ_AHEAD = 50
ENDED_REFUSED = "refused"  # join first or premium: the user was told
ENDED_BANNED = "the user is banned"
ENDED_BLOCKED = "the user blocked the bot"

Deliver = Callable[[int, str, str | None], Awaitable[bool]]
"""Sends one file (user id, file id, the link's gate); False when the user was refused (and
told why): the batch stops there."""


class BatchDeliveries(JobRunner):
    kind = KIND

    def __init__(
        self,
        jobs: JobRepository,
        files: FileRepository,
        clock: Clock,
        deliver: Deliver,
        *,
        user_gone: Callable[[int], Awaitable[object]] | None = None,
        owner: str | None = None,
    ) -> None:
        """`user_gone(user_id)`: the user blocked the bot or deleted the account (marked, as a
        broadcast marks them)."""
        super().__init__(jobs, clock, owner=owner)
        self._files = files
        self._deliver = deliver
        self._user_gone = user_gone
        self._running: dict[str, asyncio.Task[None]] = {}

    async def count(self, chat_id: int, first: int, last: int) -> int:
        """Indexed files in posts first..last of the channel."""
        return await self._files.count_in_posts(chat_id, first, last)

    async def start(self, link: LinkRecord, user_id: int) -> JobRecord:
        """Queue the delivery of `link`'s posts to `user_id`."""
        params: dict[str, object] = {
            "key": f"{link.code}:{user_id}",
            "user_id": user_id,
            "code": link.code,
            "chat_id": link.chat_id,
            "first": link.first_message_id,
            "last": link.last_message_id,
            "gate": link.premium,
        }
        job = await self._jobs.create(KIND, params, self._clock.now())
        log.info("batch_job_queued", job_id=job.id, code=link.code, user_id=user_id)
        self.wake()
        return job

    async def run_pending(self) -> None:
        """Every claimable batch runs in its own task (one user's long batch never holds up
        another's)."""
        now = self._clock.now()
        for job in await self._jobs.active():
            if job.kind != KIND or job.id in self._running:
                continue
            if job.owner not in (None, self._owner) and (
                job.lease_until is None or job.lease_until >= now
            ):
                continue
            self._running[job.id] = asyncio.create_task(self._guarded(job))

    async def _guarded(self, job: JobRecord) -> None:
        try:
            with working():
                await self._work(job)
        except Exception as exc:  # noqa: BLE001 - one batch's failure never stops the others
            log.warning("batch_job_error", job_id=job.id, error=type(exc).__name__)
        finally:
            self._running.pop(job.id, None)

    async def close(self) -> None:
        """Cancel the batches running in this process (at shutdown; they resume later)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _work(self, job: JobRecord) -> None:
        claimed = await self._claim(job)
        if claimed is None:
            return
        params = claimed.params
        user_id = int(str(params["user_id"]))
        chat_id = int(str(params["chat_id"]))
        last = int(str(params["last"]))
        gate = params.get("gate") if isinstance(params.get("gate"), str) else None
        after = int(str(claimed.checkpoint.get("after", int(str(params["first"])) - 1)))
        sent = int(claimed.counters.get("sent", 0))
        while True:
            files = await self._files.in_posts(chat_id, after, last, READ_AHEAD)
            if not files:
                break
            for record in files:
                if sent:
                    await self._clock.sleep(BATCH_INTERVAL)
                delivered, reason = await self._send(
                    claimed.id, user_id, record.id, str(gate) if gate else None
                )
                if reason is not None:
                    await self._jobs.finish(claimed.id, "done", self._clock.now(), reason)
                    log.info("batch_job_ended", job_id=claimed.id, sent=sent, reason=reason)
                    return
                sent += delivered
                after = record.message_id
                now = self._clock.now()
                saved = await self._jobs.checkpoint(
                    claimed.id,
                    self._owner,
                    checkpoint={"after": after},
                    counters={"sent": sent},
                    now=now,
                    lease_until=now + LEASE,
                )
                if not saved:
                    return
        await self._jobs.finish(claimed.id, "done", self._clock.now())
        log.info("batch_job_done", job_id=claimed.id, sent=sent)

    async def _send(
        self, job_id: str, user_id: int, file_id: str, gate: str | None
    ) -> tuple[int, str | None]:
        """One file of the batch: (files sent, why the batch ends here or None). A refusal
        (join first, premium: the user was told), a ban, or a user who blocked the bot ends
        it; a file deleted since is skipped; a FloodWait is waited out and the file sent
        again. Anything else is raised: the job is tried again later, from its checkpoint."""
        while True:
            try:
                sent = await self._deliver(user_id, file_id, gate)
            except NotFoundError:
                log.info("batch_file_gone", job_id=job_id, file_id=file_id)
                return 0, None
            except BannedError:
                return 0, ENDED_BANNED
            except Exception as exc:
                info = info_for(exc)
                if info is not None and info.terminal:
                    if self._user_gone is not None:
                        mark = functools.partial(self._user_gone, user_id)
                        await self._durable(job_id, mark)
                    return 0, ENDED_BLOCKED
                error = as_app_error(exc)
                if not isinstance(error, RateLimitedError):
                    raise
                log.info("batch_flood_wait", job_id=job_id, seconds=error.retry_after)
                with waiting():
                    await self._clock.sleep(max(1.0, error.retry_after))
                continue
            return (1, None) if sent else (0, ENDED_REFUSED)

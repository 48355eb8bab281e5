"""One unfinished job per subject, decided by the database (`open_job`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from repositories.jobs import INDEXES, MongoJobRepository
from repositories.mongo import Database
from services.job_runner import open_job

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_presses_that_race_open_one_job_and_an_ended_one_frees_its_subject(
    database: Database,
) -> None:
    await database.prepare(INDEXES)
    jobs = MongoJobRepository(database)
    opened = await asyncio.gather(
        *(open_job(jobs, "index", {"key": "-100123", "by": n}, NOW) for n in range(10))
    )
    assert sum(created for _, created in opened) == 1
    assert len({job.id for job, _ in opened}) == 1
    other, created = await open_job(jobs, "index", {"key": "-100456"}, NOW)
    assert created  # another channel: its own job
    assert other.id != opened[0][0].id
    broadcast, created = await open_job(jobs, "broadcast", {"key": "-100123"}, NOW)
    assert created  # another kind with the same key: its own job

    job = opened[0][0]
    assert await jobs.transition(job.id, ("pending",), "paused", NOW) is not None
    again, created = await open_job(jobs, "index", {"key": "-100123"}, NOW)
    assert (again.id, created) == (job.id, False)  # paused is still unfinished
    assert await jobs.transition(job.id, ("paused",), "cancelled", NOW) is not None
    after_cancel, created = await open_job(jobs, "index", {"key": "-100123"}, NOW)
    assert created
    assert after_cancel.id != job.id
    assert await jobs.finish(after_cancel.id, "done", NOW)
    _, created = await open_job(jobs, "index", {"key": "-100123"}, NOW)
    assert created
    assert broadcast.kind == "broadcast"

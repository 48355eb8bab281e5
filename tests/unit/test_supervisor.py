"""The supervisor of background work: periodic steps, workers, failures logged once, backoff,
and what it reports."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from app.supervisor import Supervisor
from testkit.clock import VirtualClock


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_periodic_step_runs_on_time_fails_once_in_the_log_backs_off_and_recovers() -> None:
    clock = VirtualClock()
    supervisor = Supervisor(clock)
    outcomes = ["ok", "boom", "boom", "boom", "ok"]
    runs: list[float] = []

    async def step() -> None:
        runs.append(clock.monotonic())
        if outcomes.pop(0) == "boom":
            raise RuntimeError("database down")

    supervisor.every("sweep", 30, step, at_start=True)
    with capture_logs() as logs:
        supervisor.start()
        await _settle()
        for _ in range(4):
            clock.advance(clock.next_deadline() - clock.monotonic())  # type: ignore[operator]
            await _settle()
    await supervisor.stop()
    # At start, then 30 s; failures wait max(30, backoff): 30, 30 (backoff 1, 2 s), then 30.
    assert runs == [0, 30, 60, 90, 120]
    failed = [e for e in logs if e["event"] == "background_task_failed"]
    assert len(failed) == 1  # once, not every period
    assert failed[0]["task"] == "sweep"
    assert failed[0]["error"] == "RuntimeError: database down"
    assert [e["after"] for e in logs if e["event"] == "background_task_recovered"] == [3]
    report = supervisor.report()["sweep"]
    assert report["runs"] == 5
    assert report["failing"] is False
    assert report["last_error"] == "RuntimeError: database down"


async def test_a_crashed_worker_is_restarted_with_growing_waits() -> None:
    clock = VirtualClock()
    supervisor = Supervisor(clock)
    started: list[float] = []

    async def worker() -> None:
        started.append(clock.monotonic())
        if len(started) <= 3:
            raise ValueError("lost the connection")
        await asyncio.Event().wait()  # runs until stopped

    supervisor.worker("jobs", worker)
    supervisor.start()
    await _settle()
    for _ in range(3):
        clock.advance(clock.next_deadline() - clock.monotonic())  # type: ignore[operator]
        await _settle()
    assert started == [0, 1, 3, 7]  # restarted after 1, 2 and 4 s
    assert supervisor.failing == []  # running again
    assert supervisor.report()["jobs"]["last_error"] == "ValueError: lost the connection"
    assert supervisor.report()["jobs"]["restarts"] == 3
    assert supervisor.report()["jobs"]["runs"] == 4  # started four times
    assert supervisor.report()["jobs"]["last_run"] == clock.now().isoformat()  # running since
    await supervisor.stop()
    assert all(task.done() for task in supervisor.tasks) or supervisor.tasks == []


async def test_a_failing_step_is_reported_until_it_recovers() -> None:
    clock = VirtualClock()
    supervisor = Supervisor(clock, on_run=lambda state, ok: seen.append((state.name, ok)))
    seen: list[tuple[str, bool]] = []

    async def step() -> None:
        raise OSError("disk full")

    supervisor.every("purge", 3600, step, at_start=True)
    supervisor.start()
    await _settle()
    assert supervisor.failing == ["purge"]
    assert supervisor.report()["purge"]["failing"] is True
    assert seen == [("purge", False)]
    await supervisor.stop()

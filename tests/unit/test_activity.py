"""How services count their background work without being handed the app's `Activity`: the
one current for the task that runs them (`App.start` binds it), inherited by the tasks they
create."""

from __future__ import annotations

import asyncio

from core.utils.activity import Activity, hold, waiting, working


async def test_outside_an_app_marking_work_does_nothing() -> None:
    with working(), waiting():
        pass
    held = hold()
    held.release()
    held.release()


async def test_work_in_a_task_started_while_bound_counts_and_its_task_is_known() -> None:
    activity = Activity()
    inside = asyncio.Event()
    finish = asyncio.Event()

    async def job() -> None:
        with working():
            inside.set()
            await finish.wait()

    token = activity.bind()
    try:
        task = asyncio.create_task(job())
    finally:
        Activity.unbind(token)
    await inside.wait()
    assert not activity.idle
    assert task in activity.tasks
    finish.set()
    await task
    assert activity.idle
    assert not activity.tasks


async def test_a_task_started_after_unbind_does_not_count() -> None:
    activity = Activity()
    Activity.unbind(activity.bind())
    seen: list[bool] = []

    async def job() -> None:
        with working():
            seen.append(activity.idle)

    await asyncio.create_task(job())
    assert seen == [True]


async def test_waiting_inside_work_is_not_busy_and_work_resumes_after() -> None:
    activity = Activity()
    states: list[bool] = []

    async def job() -> None:
        with working():
            states.append(activity.idle)
            with waiting():
                states.append(activity.idle)
            states.append(activity.idle)

    token = activity.bind()
    try:
        await asyncio.create_task(job())
    finally:
        Activity.unbind(token)
    assert states == [False, True, False]
    assert activity.idle


async def test_held_work_is_busy_until_released_once() -> None:
    activity = Activity()
    token = activity.bind()
    try:
        held = hold()
    finally:
        Activity.unbind(token)
    assert not activity.idle
    held.release()
    held.release()  # a second release changes nothing
    assert activity.idle


async def test_tasks_created_by_work_count_in_the_activity_they_inherited() -> None:
    """Two apps in one process (the harness's `beside`): each task counts where it was
    started, even when the other app was bound last."""
    first, second = Activity(), Activity()
    counted: dict[str, tuple[bool, bool]] = {}

    async def child(name: str) -> None:
        with working():
            counted[name] = (first.idle, second.idle)

    async def parent(name: str) -> None:
        await asyncio.gather(child(name))  # gather's task inherits the parent's context

    token = first.bind()
    try:
        one = asyncio.create_task(parent("first"))
    finally:
        Activity.unbind(token)
    token = second.bind()
    try:
        two = asyncio.create_task(parent("second"))
    finally:
        Activity.unbind(token)
    await asyncio.gather(one, two)
    assert counted == {"first": (False, True), "second": (True, False)}

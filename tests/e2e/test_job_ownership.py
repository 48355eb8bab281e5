"""Jobs under races and several instances: a double tap and two admins act once, a crashed
instance's job is taken over by the same bot, never by another bot on the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from testkit import BotHarness
from tests.e2e.test_broadcast import ANNOUNCEMENT, _received, _until_finished, _users
from tests.e2e.test_index_job import bot_message, history

OTHER_BOT = 7_000_000_777


@pytest.fixture
async def bot(mongo_uri: str) -> AsyncIterator[BotHarness]:
    """Users 1 and 2 are admins; names are read by the fast pass (thousands of them)."""
    async with BotHarness(
        database_uri=mongo_uri, ADMINS="1,2", ACCURATE_METADATA="false"
    ) as harness:
        yield harness


async def test_a_double_tap_in_one_batch_of_updates_sends_one_broadcast(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    users = await _users(bot, 5)
    offer = (await admin.send(f"/broadcast users {ANNOUNCEMENT}"))[-1]
    taps = await bot.click_together((admin, offer, "Send"), (admin, offer, "Send"))
    await _until_finished(bot, admin)
    assert [_received(u) for u in users] == [1] * 5
    assert all(bot.telegram.calls("SendMessage", chat_id=u.id) == 1 for u in users)
    alerts = [r.answer.text for r in taps if r.answer is not None and r.answer.alert]
    assert alerts == ["This was already answered: sent. Send the command again to ask anew."]


async def test_two_admins_pressing_start_in_one_batch_make_one_job(bot: BotHarness) -> None:
    ann, bob = bot.user(1, "Ann"), bot.user(2, "Bob")
    archive = bot.channel("Archive", username="archive")
    await history(archive, 300)
    offers = [(await a.send("/index @archive 1 300"))[-1] for a in (ann, bob)]
    await bot.click_together((ann, offers[0], "Start"), (bob, offers[1], "Start"))
    texts = [bot_message(a, o).text for a, o in zip((ann, bob), offers, strict=True)]
    assert sum("already has an unfinished job" in t for t in texts) == 1, texts
    assert await bot.running.services.indexing.count_in_chat(archive.id) == 300
    (done,) = [t for t in texts if "State: ✅ done" in t]
    assert "Indexed 300 · duplicates 0" in done  # a second job would find 300 duplicates


async def test_the_same_bot_on_another_instance_takes_over_a_crashed_job(
    bot: BotHarness,
) -> None:
    admin = bot.user(1, "Admin")
    archive = bot.channel("Archive")
    posts = await history(archive, 600)
    offer = (await admin.forward(posts[-1]))[-1]
    bot.stop_abruptly_at("GetMessages", call=2)  # dies while reading the second batch
    await admin.click(offer, "Start")
    assert bot.app is None
    async with BotHarness.beside(
        bot, share_telegram=True, ADMINS="1,2", ACCURATE_METADATA="false"
    ) as second:
        await second.advance(120)  # the first one's lease (90 s) lapses; it polls every 30 s
        progress = bot_message(admin, offer)
        assert "State: ✅ done" in progress.text, progress.text
        assert await second.running.services.indexing.count_in_chat(archive.id) == 600


async def test_another_bot_on_the_same_database_leaves_a_job_alone(bot: BotHarness) -> None:
    """Bot B (its own token) shares bot A's database. A dies in the middle of a job; B never
    takes it over (it cannot read A's channel and would pause it), does not list it and
    cannot cancel it; A, back, finishes it."""
    admin = bot.user(1, "Admin")
    archive = bot.channel("Archive")
    posts = await history(archive, 600)
    offer = (await admin.forward(posts[-1]))[-1]
    progress = offer
    bot.stop_abruptly_at("GetMessages", call=2)
    await admin.click(offer, "Start")
    job_id = await _job_id(bot)
    async with BotHarness.beside(
        bot, bot_id=OTHER_BOT, ADMINS="1", ACCURATE_METADATA="false"
    ) as other:
        assert other.telegram.bot.id == OTHER_BOT
        await other.advance(300)
        b_admin = other.user(1, "Admin")
        assert "No jobs yet" in (await b_admin.send("/jobs"))[-1].text
        assert "No job has that id" in (await b_admin.send(f"/cancel {job_id[:8]}"))[-1].text
    await bot.restart_stopped()
    await bot.advance(120)
    progress = bot_message(admin, offer)
    assert "State: ✅ done" in progress.text, progress.text
    assert await bot.running.services.indexing.count_in_chat(archive.id) == 600


async def _job_id(bot: BotHarness) -> str:
    """The one job in the bot's database (read beside the stopped bot)."""
    async with BotHarness.beside(bot, ADMINS="1") as reader:
        (job,) = await reader.running.services.channel_index.recent(5)
    return job.id

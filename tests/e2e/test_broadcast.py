"""`/broadcast`: confirmation, Telegram's pace, FloodWait, blocked users, a crash half-way."""

from __future__ import annotations

import asyncio
import re

from testkit import BotHarness, HarnessUser
from testkit.harness import BotMessage

ANNOUNCEMENT = "New films every Friday!"


async def _users(bot: BotHarness, count: int, first_id: int = 10_000) -> list[HarnessUser]:
    """`count` users who have used the bot (recorded as if each had written to it)."""
    users = [bot.user(first_id + i, f"User{i}") for i in range(count)]
    for user in users:
        await bot.running.users.touch(user.id, user.name, None, bot.clock.now())
    return users


def _received(user: HarnessUser) -> int:
    return sum(1 for m in user.chat if m.text == ANNOUNCEMENT)


async def _until_finished(bot: BotHarness, admin: HarnessUser, step: float = 30.0) -> str:
    """Let virtual time pass until the summary arrives; returns it."""
    for _ in range(200):
        summary = [m.text for m in admin.chat if m.text.startswith("📣 Broadcast finished")]
        if summary:
            return summary[-1]
        await bot.advance(step)
    raise AssertionError("the broadcast did not finish")


async def test_a_broadcast_reaches_every_active_user_once_across_a_crash(
    bot: BotHarness,
) -> None:
    bot.telegram.enforce_rate_limits = True
    admin = bot.user(1, "Admin")
    users = await _users(bot, 1000)
    blocked = users[::20]  # 5 %
    for user in blocked:
        user.block_bot()
    await admin.send(ANNOUNCEMENT)
    offer = (await admin.reply(_own(admin, ANNOUNCEMENT), "/broadcast users"))[-1]
    assert offer.text.startswith("📣 Send this message to 1,001 users?")  # the admin too
    bot.telegram.flood_wait("SendMessage", 5, after=150)  # slept through by Pyrogram
    bot.telegram.flood_wait("SendMessage", 40, after=300)  # waited out by the job
    bot.stop_abruptly_at("SendMessage", call=520)
    await admin.click(offer, "Send")
    await bot.advance(60)
    await bot.restart_stopped()
    summary = await _until_finished(bot, admin)
    counts = [_received(u) for u in users if u not in blocked]
    assert max(counts) == 1  # never twice
    # The batch in flight when the process died is reported as unknown and never resent;
    # part of it had left already.
    unknown = int(re.search(r"unknown (\d+)", summary).group(1))  # type: ignore[union-attr]
    assert 1 <= unknown <= 8
    assert counts.count(0) <= unknown
    assert f"Sent {1001 - 50 - unknown} · failed 0 · blocked 50 · remaining 0" in summary
    assert "blocked 50" in summary
    assert all(_received(u) == 0 for u in blocked)
    record = await bot.running.users.get(blocked[0].id)
    assert record is not None
    assert record.blocked_bot
    # The next broadcast skips those who blocked the bot.
    offer = (await admin.reply(_own(admin, ANNOUNCEMENT), "/broadcast users"))[-1]
    assert offer.text.startswith("📣 Send this message to 951 users?")


def _own(user: HarnessUser, text: str) -> BotMessage:
    """The user's own message `text` in their chat with the bot (what they reply to)."""
    return next(m for m in reversed(user.chat) if m.text == text and not m.outgoing)


async def test_a_text_broadcast_to_groups_is_pinned_and_shows_its_progress(
    bot: BotHarness,
) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    clubs = [bot.group(f"Club {i}", members=[alice]) for i in range(3)]
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    for club in clubs:
        await club.send(alice, "heat 1995")  # the bot records the groups it answers in
    offer = (await admin.send("/broadcast groups pin Friday: Heat in 4K"))[-1]
    assert offer.text.startswith("📣 Send this message to 3 groups and pin it?")
    await admin.click(offer, "Send")  # the question becomes the progress message
    await bot.advance(5)
    final = next(m for m in admin.chat if m.id == offer.id)
    assert "Sent 3 · failed 0 · blocked 0 · remaining 0" in final.text
    assert "State: ✅ done" in final.text
    assert final.buttons == ()
    for club in clubs:
        texts = [m.text for m in club.messages]
        assert texts.count("Friday: Heat in 4K") == 1
    assert len(bot.telegram.pinned) == 3
    summary = admin.chat[-1].text
    assert summary.startswith("📣 Broadcast finished: 3 recipients.")


async def test_broadcast_asks_first_can_be_cancelled_and_is_for_admins(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    await _users(bot, 200)
    assert (await admin.send("/broadcast"))[-1].text.startswith("Reply to a message with")
    assert (await admin.send("/broadcast everyone hi"))[-1].text.startswith("Reply to a message")
    assert (await admin.send("/broadcast users"))[-1].text.startswith("Reply to a message")
    offer = (await admin.send("/broadcast users Hello there"))[-1]
    declined = (await admin.click(offer, "Cancel"))[-1]
    assert declined.text == "Broadcast not sent."
    assert all(m.text != "Hello there" for m in alice.chat)
    bot.telegram.flood_wait("SendMessage", 60, after=20)
    offer = (await admin.send("/broadcast users Hello there"))[-1]
    await admin.click(offer, "Send")
    waiting = next(m for m in admin.chat if m.id == offer.id)
    assert "Telegram asked me to wait 1 min 0 s." in waiting.text
    cancelled = (await admin.click(waiting, "Cancel"))[-1]
    assert "State: ✖️ cancelled" in cancelled.text
    await bot.advance(120)
    final = next(m for m in admin.chat if m.id == offer.id)
    assert "State: ✖️ cancelled" in final.text
    received = sum(
        1 for i in range(200) if any(m.text == "Hello there" for m in bot.user(10_000 + i).chat)
    )
    assert 15 <= received <= 28  # what left before the wait; nothing after the cancel
    assert "not allowed" in (await alice.send("/broadcast users hi"))[-1].text


async def test_a_decided_broadcast_prompt_stays_decided(bot: BotHarness) -> None:
    """Cancel removes the buttons; an old client's Send, a double tap or a second admin's
    press on a decided prompt does nothing but say what was decided."""
    admin = bot.user(1, "Admin")
    users = await _users(bot, 5)
    offer = (await admin.send(f"/broadcast users {ANNOUNCEMENT}"))[-1]
    declined = (await admin.click(offer, "Cancel"))[-1]
    assert declined.text == "Broadcast not sent."
    assert declined.buttons == ()  # Telegram drops the keyboard of a message edited without one
    late = await admin.click(offer, "Send")  # the old snapshot still shows the buttons
    assert late.answer is not None
    assert late.answer.alert
    assert late.answer.text == (
        "This was already answered: not sent. Send the command again to ask anew."
    )
    await bot.advance(60)
    assert [_received(u) for u in users] == [0] * 5
    assert not [m for m in admin.chat if m.text.startswith("📣 Broadcast finished")]

    offer = (await admin.send(f"/broadcast users {ANNOUNCEMENT}"))[-1]
    taps = await asyncio.gather(admin.click(offer, "Send"), admin.click(offer, "Send"))
    await _until_finished(bot, admin)
    assert [_received(u) for u in users] == [1] * 5  # a double tap is one broadcast
    refused = [r.answer for r in taps if r.answer is not None and r.answer.alert]
    assert [a.text for a in refused if a is not None] == [
        "This was already answered: sent. Send the command again to ask anew."
    ]
    summaries = [m for m in admin.chat if m.text.startswith("📣 Broadcast finished")]
    assert len(summaries) == 1


async def test_a_database_outage_during_a_flood_wait_loses_no_recipient(bot: BotHarness) -> None:
    """The database goes away while the job waits out a FloodWait: the job waits for it and
    goes on; nobody is skipped, nobody gets it twice, nothing is reported as unknown."""
    admin = bot.user(1, "Admin")
    users = await _users(bot, 40)
    await admin.send(ANNOUNCEMENT)
    offer = (await admin.reply(_own(admin, ANNOUNCEMENT), "/broadcast users"))[-1]
    bot.telegram.flood_wait("SendMessage", 60, after=20)
    await admin.click(offer, "Send")
    waiting = next(m for m in admin.chat if m.id == offer.id)
    assert "Telegram asked me to wait 1 min 0 s." in waiting.text
    assert bot.database is not None
    await bot.database.refuse()
    await bot.advance(90)  # the wait ends while the database is down
    await bot.advance(60)
    await bot.database.restore()
    summary = await _until_finished(bot, admin)
    assert [_received(u) for u in users] == [1] * 40
    assert "unknown" not in summary
    assert "Sent 41 · failed 0 · blocked 0 · remaining 0" in summary


async def test_a_database_lost_between_two_checkpoints_pauses_the_broadcast(
    bot: BotHarness,
) -> None:
    """The database goes away at a checkpoint write in the middle of the job (a batch sent,
    its progress not yet saved): the job waits for it, then saves and goes on."""
    admin = bot.user(1, "Admin")
    users = await _users(bot, 120)
    await admin.send(ANNOUNCEMENT)
    offer = (await admin.reply(_own(admin, ANNOUNCEMENT), "/broadcast users"))[-1]
    assert bot.database is not None
    lost = bot.database.stop_abruptly_at("update", collection="jobs", after=4)
    await admin.click(offer, "Send")
    await bot.advance(30)
    assert lost.happened
    await bot.advance(120)
    assert not any(m.text.startswith("📣 Broadcast finished") for m in admin.chat)
    await bot.database.restore()
    summary = await _until_finished(bot, admin)
    assert [_received(u) for u in users] == [1] * 120
    assert "unknown" not in summary
    assert "Sent 121 · failed 0 · blocked 0 · remaining 0" in summary

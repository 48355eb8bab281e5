"""Auto-delete: recorded at delivery, deleted by the sweeper when due, durable across restarts."""

from __future__ import annotations

from testkit import BotHarness, BotMessage, HarnessUser


async def get_file(bot: BotHarness, user: HarnessUser) -> BotMessage:
    (results,) = await user.send("heat")
    delivered = await user.click(results, "Heat")
    return next(m for m in delivered if m.media is not None)


async def test_a_delivered_file_is_deleted_when_due_and_the_user_is_told_once(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, AUTO_DELETE_MINUTES="10") as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        file_message = await get_file(bot, alice)
        notice = alice.chat[-1]
        assert notice.text == (
            "⏳ This file will be deleted in 10 minutes. "
            "Forward it to your Saved Messages to keep it."
        )
        await bot.advance(9 * 60)
        assert not next(m for m in alice.chat if m.id == file_message.id).deleted
        await bot.advance(60)
        assert next(m for m in alice.chat if m.id == file_message.id).deleted
        told = [m.text for m in alice.chat if m.text.startswith("🗑")]
        assert told == [
            "🗑 The file was deleted as announced. Search again any time to get it back."
        ]
        await bot.advance(3600)  # nothing left to do, nothing said twice
        assert len([m for m in alice.chat if m.text.startswith("🗑")]) == 1


async def test_pending_deletions_survive_a_restart(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, AUTO_DELETE_MINUTES="5") as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        file_message = await get_file(bot, alice)
        await bot.app.stop()  # the bot is down when the deletion comes due
        bot.clock.advance(600)
        await bot.restart_stopped()
        assert next(m for m in alice.chat if m.id == file_message.id).deleted


async def test_auto_delete_is_off_by_default(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    alice = bot.user(1001, "Alice")
    file_message = await get_file(bot, alice)
    assert alice.chat[-1].id == file_message.id  # no notice
    await bot.advance(24 * 3600)
    assert not alice.chat[-1].deleted

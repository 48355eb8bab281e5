"""The operator's log channel: start and stop, new users and groups, admin actions, finished
jobs; an unreachable channel is logged once and never stops the bot."""

from __future__ import annotations

from structlog.testing import capture_logs

from testkit import BotHarness

LOG_ID = -1002299999999


async def test_the_log_channel_hears_what_happens(mongo_uri: str) -> None:
    bot = BotHarness(database_uri=mongo_uri, ADMINS="1", LOG_CHANNEL=str(LOG_ID))
    log = bot.channel("Bot log", chat_id=LOG_ID)
    async with bot:
        admin = bot.user(1, "Admin", username="boss")
        alice = bot.user(1001, "Alice", username="alice")
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        await alice.send("heat")
        club = bot.group("Film Club", members=[alice])
        await club.send(alice, "heat 1995")
        await admin.send("/ban 1001 spam")
        await admin.send("/premium add 1002 30d")
        other = bot.group("Noisy Club", members=[admin])
        await other.send(admin, "heat 1995")
        await other.remove_bot(admin)
        await bot.restart()
        await bot.idle()
        texts = [m.text for m in log.messages]
    assert texts[0] == "🟢 Bot started · version 0.1.0 · 0 files · 0 users"
    assert "👤 New user: Alice (@alice, 1001)" in texts
    assert f"👥 Added to group: Film Club ({club.id})" in texts
    assert "🛠 Admin (@boss, 1): banned Alice (@alice, 1001): spam" in texts
    assert any(t.startswith("🛠 Admin (@boss, 1): premium for user (1002) until ") for t in texts)
    assert f"🚪 Removed from group: Noisy Club ({other.id})" in texts
    assert "🔴 Bot stopping" in texts
    assert texts[-1] == "🟢 Bot started · version 0.1.0 · 1 files · 3 users"


async def test_an_unreachable_log_channel_is_logged_once(mongo_uri: str) -> None:
    bot = BotHarness(database_uri=mongo_uri, ADMINS="1", LOG_CHANNEL=str(LOG_ID))
    bot.channel("Not ours", chat_id=LOG_ID, bot_is_admin=False)
    async with bot:
        admin = bot.user(1, "Admin")
        with capture_logs() as logs:
            await bot.restart()  # a new instance: its first post fails, and is logged
            await admin.send("/ban 1001 spam")
            await admin.send("/ban 1002 spam")
        reply = (await admin.send("/banned"))[-1]
        assert "1001" in reply.text
        assert "1002" in reply.text
    unreachable = [e for e in logs if e["event"] == "log_channel_unreachable"]
    assert len(unreachable) == 1
    assert unreachable[0]["code"] == "telegram_write_forbidden"

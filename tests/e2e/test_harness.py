"""The harness's own contract for what later features need: database faults, a second instance
on the same database, a DATA_DIR each, Telegram's input limits, blocked users."""

from __future__ import annotations

import pytest
from pyrogram.errors import ButtonDataInvalid, MessageTooLong
from pyrogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.utils.errors import StorageError
from testkit import BotHarness


async def test_the_database_can_refuse_hang_and_come_back(bot: BotHarness) -> None:
    assert bot.database is not None
    database = bot.running.database
    await database.ping()
    await bot.database.refuse()
    with pytest.raises(StorageError, match=r"cannot reach 127\.0\.0\.1:\d+: connection"):
        await database.ping()
    await bot.database.restore()
    await database.ping()


async def test_a_second_instance_shares_the_database_but_not_the_data_dir(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    async with BotHarness.beside(bot) as other:
        assert other.database_name == bot.database_name
        assert other.data_dir != bot.data_dir
        assert other.data_dir.is_dir()
        found = await other.running.services.search.search("heat")
        assert [f.file_name for f in found.items] == ["Heat.1995.mkv"]
    # The second instance stopping leaves the first one's database in place.
    assert (await bot.running.services.search.search("heat")).total == 1


async def test_each_harness_has_its_own_data_dir(mongo_uri: str) -> None:
    async with (
        BotHarness(database_uri=mongo_uri) as first,
        BotHarness(database_uri=mongo_uri) as second,
    ):
        assert first.data_dir != second.data_dir
        kept = first.data_dir
    assert not kept.exists()  # removed at stop


async def test_the_double_enforces_telegrams_input_limits(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    client = bot.running.client
    await client.send_message(alice.id, "x" * 4096)
    with pytest.raises(MessageTooLong):
        await client.send_message(alice.id, "x" * 4097)
    too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 65)]])
    with pytest.raises(ButtonDataInvalid):
        await client.send_message(alice.id, "hi", reply_markup=too_long_data)
    with pytest.raises(ValueError, match="4096"):
        await alice.send("y" * 4097)
    with pytest.raises(ValueError, match="256"):
        await alice.inline("q" * 257)


async def test_users_who_blocked_the_bot_are_marked_when_a_send_fails(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, AUTO_DELETE_MINUTES="10") as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        (results,) = await alice.send("heat")
        await alice.click(results, "Heat")
        alice.block_bot()
        await bot.advance(600)  # the file is deleted; the notice about it cannot be sent
        user = await bot.running.users.get(1001)
        assert user is not None
        assert user.blocked_bot
        alice.unblock_bot()
        await alice.send("/start")  # writing to the bot again clears the flag
        user = await bot.running.users.get(1001)
        assert user is not None
        assert not user.blocked_bot


async def test_the_database_proxy_counts_the_commands_passing_through(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    alice = bot.user(1001, "Alice")
    await alice.send("/start")
    if bot.database is None:
        pytest.skip("a replica-set TEST_DATABASE_URI: no proxy in front of it")
    bot.database.counting = True
    await alice.send("heat")
    bot.database.counting = False
    assert bot.database.commands[("find", "users")] == 1  # the policy's one read
    await alice.send("heat")  # not counted any more
    assert bot.database.commands[("find", "users")] == 1


async def test_the_double_can_keep_messages_unparsed_for_a_benchmark(bot: BotHarness) -> None:
    """`parse_messages = False` (bench/load.py): the bot works as before, the double keeps the
    raw messages only, and a chat view says why it cannot be shown."""
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    alice = bot.user(1001, "Alice")
    await alice.send("/start")
    bot.telegram.parse_messages = False
    await bot.telegram.user_sends(alice.id, "heat")
    await bot.idle()
    sent = max(bot.telegram.messages[alice.id].values(), key=lambda m: m.id)
    assert sent.outgoing
    assert sent.parsed is None
    buttons = [b.text for row in sent.raw.reply_markup.rows for b in row.buttons]
    assert (sent.raw.message, buttons) == ("🔎 1 file for heat", ["[668 MB] Heat 1995"])
    with pytest.raises(RuntimeError, match="parse_messages is off"):
        _ = alice.chat
    bot.telegram.parse_messages = True
    replies = await alice.send("heat")  # parsed again from here on
    assert replies[-1].text == "🔎 1 file for heat"
    assert [b.text for row in replies[-1].buttons for b in row] == ["[668 MB] Heat 1995"]

"""What a search costs the database (#45): one read of the user, and no write of its own. The
counts a search and a download add are kept in memory and written every few seconds and at a
clean stop; a page token is stored once, and only when a button carries it."""

from __future__ import annotations

from typing import Any

from testkit import BotHarness, HarnessUser


def _db_calls(bot: BotHarness) -> list[str]:
    """The database operations of the last handled update."""
    (trace,) = bot.running.ops.traces.last(1)
    return [call.name for call in trace.calls if call.kind == "db"]


async def _user_doc(bot: BotHarness, user_id: int) -> dict[str, Any]:
    return await bot.running.database.collection("users").find_one({"_id": user_id}) or {}


async def _today(bot: BotHarness) -> dict[str, Any]:
    day = bot.clock.now().strftime("%Y-%m-%d")
    return await bot.running.database.collection("daily").find_one({"_id": day}) or {}


async def _alice_and_heat(bot: BotHarness, parts: int) -> HarnessUser:
    """`parts` files named "Heat.Part.NN.1995.mkv" in a channel, and Alice, who has started."""
    movies = bot.channel("Movies")
    for part in range(parts):
        await movies.post_video(f"Heat.Part.{part:02d}.1995.mkv")
    alice = bot.user(1001, "Alice")
    await alice.send("/start")
    return alice


async def test_a_repeated_search_reads_the_user_once_and_writes_nothing(bot: BotHarness) -> None:
    alice = await _alice_and_heat(bot, 12)
    (first,) = await alice.send("heat")
    assert first.text.startswith("🔎 12 files")
    assert _db_calls(bot) == ["users.get", "searches.remember"]  # its token, once
    for _ in range(3):
        await alice.send("heat")
        assert _db_calls(bot) == ["users.get"]


async def test_searches_and_downloads_are_counted_after_the_flush_and_at_a_stop(
    bot: BotHarness,
) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    alice = bot.user(1001, "Alice")
    (results,) = await alice.send("heat")
    await alice.click(results, "Heat")
    assert (await _user_doc(bot, alice.id)).get("searches", 0) == 0  # not written yet
    await bot.advance(5)
    user = await _user_doc(bot, alice.id)
    assert (user["searches"], user["downloads"]) == (1, 1)
    today = await _today(bot)
    assert (today["searches"], today["deliveries"]) == (1, 1)
    await alice.send("heat")
    await alice.send("heat 1995")
    await bot.running.stop()  # a clean stop writes what was counted since
    await bot.restart_stopped()
    assert (await _user_doc(bot, alice.id))["searches"] == 3
    assert (await _today(bot))["searches"] == 3


async def test_a_token_is_stored_only_when_a_button_carries_it(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_video("Ronin.1998.mkv")
    for part in range(12):
        await movies.post_video(f"Heat.Part.{part:02d}.1995.mkv")
    alice = bot.user(1001, "Alice")
    searches = bot.running.database.collection("searches")
    (single,) = await alice.send("ronin")
    assert single.text.startswith("🔎 1 file")
    assert await searches.count_documents({}) == 0  # one file, one page: no button needs it
    (results,) = await alice.send("heat")
    assert results.button("Next »") is not None
    assert await searches.count_documents({}) == 1
    await bot.running.stop()
    await bot.restart_stopped()
    (second,) = await alice.click(results, "Next »")  # the token outlives the process
    assert "2 / 2" in [b.text for b in second.all_buttons]


async def test_a_ban_on_one_instance_refuses_the_next_search_on_another(bot: BotHarness) -> None:
    """Users are read on every update (the one read a search costs), so a ban made anywhere
    holds at once everywhere: no instance answers from a stale copy."""
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    async with BotHarness.beside(bot) as other:
        alice_there = other.user(1001, "Alice")
        assert (await alice_there.send("heat"))[0].text.startswith("🔎 1 file")
        await bot.user(1, "Admin").send("/ban 1001 spam")
        (refused,) = await alice_there.send("heat")
        assert refused.text.startswith("You are banned from using this bot.")


async def test_an_inline_query_reads_the_user_once(bot: BotHarness) -> None:
    """The ban check, the premium gate and each result's file gate share one read."""
    alice = await _alice_and_heat(bot, 5)
    answer = await alice.inline("heat")
    assert len(answer.results) == 5
    assert _db_calls(bot).count("users.get") == 1


async def test_a_repeated_inline_query_reads_only_the_user(bot: BotHarness) -> None:
    """Its files are kept (`search_records`) and whether anyone is banned is read at most every
    5 s (`ANY_BANNED_SECONDS`): the user's read is the repeated answer's one operation."""
    alice = await _alice_and_heat(bot, 5)
    first = await alice.inline("heat")
    assert "users.any_banned" in _db_calls(bot)
    again = await alice.inline("heat")
    assert again.results == first.results
    assert _db_calls(bot) == ["users.get"]

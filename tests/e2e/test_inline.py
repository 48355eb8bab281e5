"""Inline mode: cached files as results, offset paging, cache flags, protected content."""

from __future__ import annotations

import re

from testkit import BotHarness
from tests.e2e.worlds import dark_city_in_three_types, strict_rate_limit


async def test_inline_results_are_the_files_themselves(bot: BotHarness) -> None:
    await dark_city_in_three_types(bot)
    alice = bot.user(1001, "Alice")
    answer = await alice.inline("dark cit")  # the last word is a prefix while typing
    assert answer.answered
    names = sorted(r.file.file_name for r in answer.results if r.file is not None)
    assert names == [
        "Dark.City.1998.720p.BluRay.mkv",
        "Dark.City.Script.pdf",
        "Dark.City.Soundtrack.mp3",
    ]
    video = next(r for r in answer.results if r.title and "720p" in r.title)
    assert video.description == "700 MB · video"
    assert video.caption == "Dark.City.1998.720p.BluRay.mkv\n700 MB"  # the caption template
    assert not answer.is_personal  # nothing gated: everyone gets the same answer
    assert answer.cache_time == 300
    assert answer.next_offset == ""
    assert await bot.app.users.get(alice.id) is not None  # inline users are recorded too


async def test_inline_pages_through_offsets_of_fifty(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    for part in range(1, 61):
        await movies.post_video(f"Nature.Documentary.Part.{part:02d}.mkv", size=100_000_000)
    alice = bot.user(1001, "Alice")
    first = await alice.inline("nature documentary")
    assert len(first.results) == 50
    assert first.next_offset == "2"
    second = await alice.inline("nature documentary", offset=first.next_offset)
    assert len(second.results) == 10
    assert second.next_offset == ""
    assert not {r.id for r in first.results} & {r.id for r in second.results}


async def test_inline_without_a_query_points_to_private_chat(bot: BotHarness) -> None:
    answer = await bot.user(1001, "Alice").inline("")
    assert answer.results == ()
    assert answer.switch_pm_text == "Search in private chat"
    assert answer.switch_pm_parameter == "start"


async def test_banned_users_get_no_inline_results(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    await bot.app.users.ban(1001, "spam", 1, bot.clock.now())
    answer = await bot.user(1001, "Alice").inline("heat")
    assert answer.results == ()
    assert answer.switch_pm_text is not None
    assert re.fullmatch(r"You are banned from this bot \(ref: [0-9a-f]{8}\)", answer.switch_pm_text)
    assert answer.cache_time == 0


async def test_protected_files_are_offered_as_cards_that_deliver_in_private(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, PROTECT_CONTENT="true") as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv", size=3_221_225_472)
        alice = bot.user(1001, "Alice")
        answer = await alice.inline("heat")
        (card,) = answer.results
        assert card.file is None  # no forwardable copy of the file is handed out
        assert card.title == "Heat 1995"
        assert card.caption == "📄 Heat.1995.mkv\n3.0 GB"
        (button,) = card.buttons
        assert button.text == "📥 Get file"
        assert button.url is not None
        (delivered,) = await alice.open_link(button.url)
        assert delivered.media is not None
        assert delivered.protect_content


async def test_a_flood_across_surfaces_shares_one_budget(mongo_uri: str) -> None:
    async with strict_rate_limit(mongo_uri) as (bot, alice, club):
        assert (await alice.inline("heat")).results
        assert len(await alice.send("heat")) == 1
        assert len(await club.send(alice, "heat")) == 1
        told = await alice.inline("heat")  # the fourth update in a burst of three
        assert told.results == ()
        assert told.switch_pm_text is not None
        assert re.fullmatch(
            r"You are going too fast\. Please wait a moment\. \(ref: [0-9a-f]{8}\)",
            told.switch_pm_text,
        )
        assert not (await alice.inline("heat")).answered  # told once, then ignored
        assert list(await club.send(alice, "heat")) == []
        assert (await bot.user(1002, "Bob").inline("heat")).results  # others are served
        await bot.advance(10)
        assert (await alice.inline("heat")).results

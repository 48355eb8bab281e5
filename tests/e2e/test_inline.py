"""Inline mode: cached files as results, offset paging, cache flags, protected content."""

from __future__ import annotations

import asyncio
import re

from repositories.files import MongoFileRepository
from testkit import BotHarness
from tests.e2e.worlds import (
    captions_with_the_posts_text,
    dark_city_in_three_types,
    strict_rate_limit,
)


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


async def test_a_repeated_inline_answer_reads_its_files_once(bot: BotHarness) -> None:
    """The files an inline answer hands out are kept (`search_records`): the same answer again
    reads none of them from the database."""
    await dark_city_in_three_types(bot)
    alice, bob = bot.user(1001, "Alice"), bot.user(1002, "Bob")
    first = await alice.inline("dark city")
    bot.database.counting = True
    again = await bob.inline("dark city")
    bot.database.counting = False
    assert [r.id for r in again.results] == [r.id for r in first.results]
    assert len(again.results) == 3
    assert bot.database.commands[("find", "files")] == 0


async def test_a_repeated_inline_answer_is_written_once(bot: BotHarness) -> None:
    """Each result is kept in Telegram's wire form (`inline_results`): the same answer again,
    to anyone, is served from it, identical, and the admin's /cache shows the hits."""
    await dark_city_in_three_types(bot)
    alice, bob = bot.user(1001, "Alice"), bot.user(1002, "Bob")

    first = await alice.inline("dark city")
    again = await bob.inline("dark city")
    assert len(first.results) == 3
    assert again.results == first.results
    (cache,) = await bot.user(1, "Admin").send("/cache")
    row = re.search(r"inline_results +(\d+)/5000 +\S+ +(\d+) +(\d+)", cache.text)
    assert row is not None, cache.text
    assert row.groups() == ("3", "3", "3")  # kept, hits, misses


async def test_inline_answers_follow_an_edited_caption_and_a_deleted_post(mongo_uri: str) -> None:
    """A kept file is dropped when the index applies a change to it: an edited caption is
    handed out at once, a deleted post is no longer offered."""
    async with captions_with_the_posts_text(mongo_uri) as bot:
        await _edit_and_delete_inline(bot)


async def _edit_and_delete_inline(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    post = await movies.post_video("Ronin.1998.mkv", caption="old words")
    await movies.post_video("Ronin.1998.Trailer.mkv")
    alice = bot.user(1001, "Alice")
    before = await alice.inline("ronin")
    assert any("old words" in (r.caption or "") for r in before.results)
    await movies.edit_post(post, "Directed by John Frankenheimer")
    edited = await alice.inline("ronin")
    captions = [r.caption or "" for r in edited.results]
    assert any("Frankenheimer" in c for c in captions)
    assert not any("old words" in c for c in captions)
    await movies.delete_posts(post)
    after = await alice.inline("ronin")
    assert [r.file.file_name for r in after.results if r.file] == ["Ronin.1998.Trailer.mkv"]


async def test_files_read_while_a_change_was_applied_are_not_kept(bot: BotHarness) -> None:
    """An inline answer whose read of its files a change overtook (a gate set by another
    instance, applied by the catch-up while the read waited) hands out what it read but keeps
    none of it: the next answer reads the files again, and leaves the now-premium file out."""
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Heat.Trailer.mkv")
    alice = bot.user(1001, "Alice")
    assert bot.database is not None
    held = bot.database.hold("find", collection="files")  # the answer's read of its files
    answering = asyncio.create_task(alice.inline("heat"))
    await asyncio.wait_for(held.reached(), 60)
    files = MongoFileRepository(bot.app.database)
    posted = await files.in_posts(movies.id, 0, 10, 10)
    (full,) = [f for f in posted if "Trailer" not in f.file_name]
    assert await files.set_premium(full.id, "premium")
    await bot.running.services.search.index.catch_up()  # the periodic one, at this moment
    held.release()
    assert (await answering).answered
    bot.database.counting = True
    after = await alice.inline("heat")
    bot.database.counting = False
    assert [r.file.file_name for r in after.results if r.file] == ["Heat.Trailer.mkv"]
    assert bot.database.commands[("find", "files")] == 1  # read again, not kept

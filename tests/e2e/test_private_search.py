"""Searching in private chat: results, paging (also after a restart), suggestions, delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from testkit import BotHarness
from tests.e2e.worlds import dark_city_in_three_types


async def library(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_video("Dark.City.1998.720p.BluRay.mkv", size=734_003_200)
    await movies.post_video("Dark.City.1998.1080p.BluRay.mkv", size=2_254_857_830)
    for part in range(1, 13):
        await movies.post_video(f"Nature.Documentary.Part.{part:02d}.mkv", size=100_000_000 + part)


async def test_any_text_is_a_search_with_one_button_per_file(bot: BotHarness) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    (reply,) = await alice.send("city dark")
    assert reply.text == "🔎 2 files for city dark"
    labels = [b.text for b in reply.all_buttons]
    assert sorted(labels) == [
        "[2.1 GB] Dark City 1998 1080p BluRay",
        "[700 MB] Dark City 1998 720p BluRay",
    ]


async def test_pages_move_forward_and_back_and_survive_a_restart(bot: BotHarness) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    (first,) = await alice.send("nature documentary")
    assert first.text == "🔎 12 files for nature documentary\nPage 1 of 2"
    assert [b.text for b in first.buttons[-1]] == ["1 / 2", "Next »"]
    await bot.restart()
    (second,) = await alice.click(first, "Next")
    assert second.id == first.id  # the same message, edited
    assert second.text == "🔎 12 files for nature documentary\nPage 2 of 2"
    assert len(second.all_buttons) == 2 + 2  # two files, then « Prev and 2 / 2
    assert first.all_buttons[10].text == "📥 Send all 10"
    page_one_files = {b.text for b in first.all_buttons[:10]}
    assert not page_one_files & {b.text for b in second.all_buttons[:2]}
    (back,) = await alice.click(second, "Prev")
    assert [b.text for b in back.all_buttons[:10]] == [b.text for b in first.all_buttons[:10]]
    label = await alice.click(back, "1 / 2")
    assert label.answer is not None  # answered, nothing changed
    assert list(label) == []


async def test_no_results_offers_did_you_mean_buttons(bot: BotHarness) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    (typo,) = await alice.send("drak city")  # one typo: found without a click
    assert typo.text == "🔎 2 files for drak city"
    (reply,) = await alice.send("drak cty")  # "cty" is too short to be matched fuzzily
    assert reply.text == "No files match drak cty.\nDid you mean:"
    (fixed,) = await alice.click(reply, "dark city")
    assert fixed.text == "🔎 2 files for dark city"
    (nothing,) = await alice.send("qwertyuiop")
    assert nothing.text == "No files match qwertyuiop.\nCheck the spelling, or try fewer words."
    assert nothing.buttons == ()


async def test_pressing_a_file_delivers_it(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    post = await movies.post_document(
        "Tom & Jerry <Classic>.mkv", size=52_428_800, mime_type="video/x-matroska"
    )
    alice = bot.user(1001, "Alice")
    (results,) = await alice.send("tom jerry")
    assert results.all_buttons[0].text == "[50 MB] Tom & Jerry <Classic>"
    delivered = await alice.click(results, "Tom & Jerry")
    assert delivered.answer is not None
    (file_message,) = delivered
    assert file_message.media is not None
    assert post.media is not None
    assert file_message.media.unique_id == post.media.unique_id
    assert file_message.html == "<b>Tom &amp; Jerry &lt;Classic&gt;.mkv</b>\n50 MB"


async def test_banned_users_are_told_and_get_nothing(bot: BotHarness) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    (results,) = await alice.send("dark city")
    await bot.app.users.ban(1001, "spam", 1, datetime(2026, 1, 1, tzinfo=UTC))
    pressed = await alice.click(results, "720p")
    assert pressed.answer is not None
    assert pressed.answer.alert
    assert pressed.answer.text is not None
    assert pressed.answer.text.startswith("You are banned from using this bot. (ref: ")
    assert list(pressed) == []


async def test_bad_queries_get_a_clear_answer_and_commands_are_not_searched(
    bot: BotHarness,
) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    (short,) = await alice.send("x")
    assert short.text.startswith("I can't search for that: must be at least 2 characters.")
    for command in ("/nonexistent", "/frobnicate 5", "/Heat"):
        (reply,) = await alice.send(command)
        assert reply.text == "Unknown command — see /help"
        assert reply.buttons == ()


async def test_regex_metacharacters_are_searched_safely(bot: BotHarness) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    for text in ("[1080p", "(a|b)*", "dark.*city", "c++"):
        (reply,) = await alice.send(text)
        assert reply.text.startswith(("🔎", "No files match"))


async def test_caption_template_and_protected_content(mongo_uri: str) -> None:
    async with BotHarness(
        database_uri=mongo_uri,
        CUSTOM_FILE_CAPTION="📁 {file_name} | {file_size}\n{caption}",
        PROTECT_CONTENT="true",
    ) as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv", size=3_221_225_472, caption="A & B")
        alice = bot.user(1001, "Alice")
        (results,) = await alice.send("heat")
        (delivered,) = await alice.click(results, "Heat")
        assert delivered.text == "📁 Heat.1995.mkv | 3.0 GB\nA & B"  # escaped, then parsed
        assert delivered.protect_content


async def test_banned_users_get_one_answer_and_no_search(bot: BotHarness) -> None:
    await library(bot)
    await bot.app.users.ban(1001, "spam", 1, datetime(2026, 1, 1, tzinfo=UTC))
    (reply,) = await bot.user(1001, "Alice").send("dark city")
    assert reply.text.startswith("You are banned from using this bot.")
    assert reply.buttons == ()


async def test_type_filters_appear_when_results_mix_types(bot: BotHarness) -> None:
    await dark_city_in_three_types(bot)
    alice = bot.user(1001, "Alice")
    (mixed,) = await alice.send("dark city")
    assert [b.text for b in mixed.buttons[-1]] == [
        "✅ All 3",
        "🎬 Videos 1",
        "📄 Documents 1",
        "🎵 Audio 1",
    ]
    (videos,) = await alice.click(mixed, "Videos")
    assert videos.text == "🔎 1 file for dark city (videos only)"
    assert next(b.text for b in videos.all_buttons) == "[700 MB] Dark City 1998 720p BluRay"
    assert "✅ 🎬 Videos 1" in [b.text for b in videos.buttons[-1]]
    await bot.restart()  # the filter is in the button, the query in the database
    (everything,) = await alice.click(videos, "All 3")
    assert everything.text == "🔎 3 files for dark city"
    (single,) = await alice.send("soundtrack")
    assert all("Audio" not in b.text for b in single.all_buttons)  # one type: no filter row


async def test_type_filters_keep_paging(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    for part in range(1, 13):
        await movies.post_video(f"Nature.Documentary.Part.{part:02d}.mkv", size=100_000_000)
    await movies.post_audio("Nature.Documentary.Score.mp3", size=8_000_000)
    alice = bot.user(1001, "Alice")
    (first,) = await alice.send("nature documentary")
    (videos,) = await alice.click(first, "Videos")
    assert videos.text == "🔎 12 files for nature documentary (videos only)\nPage 1 of 2"
    (second,) = await alice.click(videos, "Next")
    assert second.text == "🔎 12 files for nature documentary (videos only)\nPage 2 of 2"
    assert len([b for b in second.all_buttons if b.text.startswith("[")]) == 2


async def test_deep_links_with_unknown_or_malformed_payloads(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    (gone,) = await alice.send("/start f_AgADnotthere")
    assert gone.text.startswith("This file is no longer available.")
    assert "ref: " in gone.text
    (greeting,) = await alice.send("/start something-else")
    assert greeting.text.startswith("👋 Hi Alice!")
    (bare,) = await alice.send("/start f_")
    assert bare.text.startswith("👋 Hi Alice!")


async def test_forged_try_again_and_file_buttons_grant_nothing(bot: BotHarness) -> None:
    await library(bot)
    alice = bot.user(1001, "Alice")
    (results,) = await alice.send("dark city")
    for data in ("1|fs|AgADx|000000000000", "1|f|AgADx|ffffffffffff", "fs", "x" * 64):
        forged = await alice.press_data(results, data)
        assert list(forged) == []
        assert forged.answer is not None
        assert forged.answer.text == "This button has expired. Please send your request again."
    file_messages = [m for m in alice.chat if m.media is not None]
    assert file_messages == []

"""The auto-filter in groups: what it answers, deep-link delivery, the per-group switch."""

from __future__ import annotations

from testkit import BotHarness, HarnessGroup, HarnessUser
from tests.e2e.worlds import strict_rate_limit


async def setup(bot: BotHarness) -> tuple[HarnessGroup, HarnessUser]:
    movies = bot.channel("Movies")
    await movies.post_video("Dark.City.1998.720p.BluRay.mkv", size=734_003_200)
    await movies.post_audio("Dark.City.Soundtrack.mp3", size=8_000_000)
    for part in range(1, 13):
        await movies.post_video(f"Nature.Documentary.Part.{part:02d}.mkv", size=100_000_000 + part)
    alice = bot.user(1001, "Alice")
    return bot.group("Film Club", members=[alice]), alice


async def test_a_title_in_a_group_gets_results_whose_buttons_deliver_in_private(
    bot: BotHarness,
) -> None:
    club, alice = await setup(bot)
    (results,) = await club.send(alice, "dark city")
    assert results.chat_id == club.id
    assert results.text.startswith("🔎 2 files for dark city")
    video = results.button("720p")
    assert video.data is None  # a deep link, not a callback: the file goes to private chat
    assert video.url is not None
    assert video.url.startswith("https://t.me/FileSearchBot?start=f_")
    delivered = await alice.open_link(video.url)
    (file_message,) = delivered
    assert file_message.chat_id == alice.id
    assert file_message.media is not None
    assert file_message.media.file_name == "Dark.City.1998.720p.BluRay.mkv"
    assert [m.media for m in club.messages if m.outgoing and m.media] == []  # nothing in the group


async def test_group_pages_and_type_filters_keep_deep_links(bot: BotHarness) -> None:
    club, alice = await setup(bot)
    (first,) = await club.send(alice, "nature documentary")
    assert first.text == "🔎 12 files for nature documentary\nPage 1 of 2"
    (second,) = await alice.click(first, "Next")
    assert second.id == first.id
    assert second.text.endswith("Page 2 of 2")
    assert all(b.url for b in second.all_buttons[:2])
    (mixed,) = await club.send(alice, "dark city")
    (audio_only,) = await alice.click(mixed, "Audio")
    assert audio_only.text == "🔎 1 file for dark city (audio only)"
    assert audio_only.all_buttons[0].url is not None


async def test_the_auto_filter_ignores_chatter(bot: BotHarness) -> None:
    club, alice = await setup(bot)
    bob = bot.user(1002, "Bob")
    assert list(await club.send(alice, "ok")) == []  # shorter than 3 characters
    assert list(await club.send(alice, "dark city " * 11)) == []  # longer than 100
    assert list(await club.send(alice, "/dark city")) == []  # a command
    searches = bot.app.database.collection("searches")
    stored = await searches.count_documents({})
    assert list(await club.send(alice, "nothing matches this at all")) == []  # no noise
    assert await searches.count_documents({}) == stored  # and no page token written for it
    (question,) = await club.send(alice, "dark city")
    said = await club.send(bob, "any good movie tonight?")
    assert list(said) == []
    bobs = [m for m in bot.telegram.messages[club.id].values() if m.sender_id == bob.id]
    replied = await club.send(alice, "dark city", reply_to=bobs[-1].id)
    assert list(replied) == []  # a reply to another person is conversation, not a search
    to_bot = await club.send(alice, "nature documentary", reply_to=question.id)
    assert len(to_bot) == 1  # a reply to the bot's own message is still a search
    await club.send(alice, "hello there everyone")
    assert list(await club.edit_last(alice, "dark city")) == []  # edits are not searched


async def test_group_admins_switch_the_auto_filter_and_others_cannot(bot: BotHarness) -> None:
    club, alice = await setup(bot)
    owner = bot.user(1003, "Olga")
    club.state.members[owner.id] = "creator"
    (refused,) = await club.send(alice, "/autofilter off")
    assert refused.text == "Only this group's admins can change that."
    (off,) = await club.send(owner, "/autofilter off")
    assert off.text.startswith("🔕 Auto-filter is off")
    assert list(await club.send(alice, "dark city")) == []
    await bot.restart()  # the switch is stored with the group
    assert list(await club.send(alice, "dark city")) == []
    (status,) = await club.send(alice, "/autofilter")
    assert status.text.startswith("🔕 Auto-filter is off")
    (on,) = await club.send(bot.user(1, "Admin"), "/autofilter on")  # the bot's own admins too
    assert on.text.startswith("🔎 Auto-filter is on")
    (results,) = await club.send(alice, "dark city")
    assert results.text.startswith("🔎 2 files")


async def test_group_members_are_recorded_as_users(bot: BotHarness) -> None:
    club, alice = await setup(bot)
    await club.send(alice, "dark city")
    assert await bot.app.users.get(alice.id) is not None
    chat = await bot.app.services.groups.record(club.id, club.title, "supergroup")
    assert chat.title == "Film Club"


async def test_banned_users_are_ignored_in_groups(bot: BotHarness) -> None:
    club, alice = await setup(bot)
    await bot.app.users.ban(alice.id, "spam", 1, bot.clock.now())
    assert list(await club.send(alice, "dark city")) == []
    assert list(await club.send(alice, "nature documentary")) == []
    (told,) = await alice.send("dark city")  # in private chat they are told
    assert told.text.startswith("You are banned")


async def test_group_chatter_does_not_count_against_the_rate_limit(mongo_uri: str) -> None:
    async with strict_rate_limit(mongo_uri) as (bot, alice, club):
        for _ in range(10):
            assert list(await club.send(alice, "ok")) == []  # chatter: never told to slow down
        assert await bot.app.users.get(alice.id) is None  # nor counted as the bot's user
        assert len(await club.send(alice, "heat")) == 1
        assert await bot.app.users.get(alice.id) is not None

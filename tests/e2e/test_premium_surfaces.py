"""The premium gate gives the same outcome in private chat, groups, deep links and inline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from repositories.files import MongoFileRepository
from testkit import BotHarness, HarnessUser

INFO = "Premium is 3 $/month: write to @filmboss <fast & friendly>."
PREMIUM_TEXT = "⭐ Premium only\nThis file is available to premium users only.\n\n" + INFO


@asynccontextmanager
async def premium_bot(mongo_uri: str, **settings: str) -> AsyncIterator[BotHarness]:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", PREMIUM_INFO=INFO, **settings) as bot:
        movies = bot.channel("Movies")
        await movies.post_video("Heat.1995.1080p.mkv", size=3_000_000_000)
        await movies.post_video("Heat.Trailer.mkv", size=30_000_000)
        yield bot


async def make_premium(bot: BotHarness, user: HarnessUser, days: int = 30) -> None:
    await bot.app.users.touch(user.id, user.name, None, bot.clock.now())
    await bot.app.users.set_premium_until(user.id, bot.clock.now() + timedelta(days=days))


async def test_premium_only_refuses_free_users_everywhere_with_the_same_message(
    mongo_uri: str,
) -> None:
    async with premium_bot(mongo_uri, PREMIUM_ONLY="true") as bot:
        alice = bot.user(1001, "Alice")
        (results,) = await alice.send("heat 1995")  # searching stays open
        pressed = await alice.click(results, "Heat 1995")
        (in_private,) = pressed
        assert in_private.text == PREMIUM_TEXT  # "<fast & friendly>" escaped, so shown as written
        assert in_private.media is None

        club = bot.group("Club", members=[alice])
        (in_group,) = await club.send(alice, "heat 1995")
        url = in_group.button("Heat 1995").url
        assert url is not None
        (via_link,) = await alice.open_link(url)
        assert via_link.text == PREMIUM_TEXT

        inline = await alice.inline("heat")
        assert inline.results == ()
        assert inline.switch_pm_parameter == "premium"
        assert inline.switch_pm_text == "Premium only — tap to learn more"
        assert inline.is_personal
        (explained,) = await alice.send(f"/start {inline.switch_pm_parameter}")
        assert explained.text == PREMIUM_TEXT


async def test_premium_users_get_files_until_their_premium_expires(mongo_uri: str) -> None:
    async with premium_bot(mongo_uri, PREMIUM_ONLY="true") as bot:
        alice = bot.user(1001, "Alice")
        await make_premium(bot, alice, days=1)
        (results,) = await alice.send("heat 1995")
        (delivered,) = await alice.click(results, "Heat 1995")
        assert delivered.media is not None
        inline = await alice.inline("heat")
        assert len(inline.results) == 2
        assert inline.is_personal
        assert inline.cache_time == 10
        assert inline.switch_pm_text is None
        await bot.advance(timedelta(days=1).total_seconds())
        (refused,) = await alice.click(results, "Heat 1995")
        assert refused.text == PREMIUM_TEXT


async def test_admins_pass_the_premium_gate(mongo_uri: str) -> None:
    async with premium_bot(mongo_uri, PREMIUM_ONLY="true") as bot:
        admin = bot.user(1, "Admin")
        (results,) = await admin.send("heat 1995")
        (delivered,) = await admin.click(results, "Heat 1995")
        assert delivered.media is not None
        assert len((await admin.inline("heat")).results) == 2


async def test_a_files_own_gate_overrides_the_global_one(mongo_uri: str) -> None:
    async with premium_bot(mongo_uri) as bot:  # the global gate is free
        files = MongoFileRepository(bot.app.database)
        found = await bot.app.services.search.search("heat 1995")
        stored = await bot.app.services.search.records(found.items)
        (full,) = [f for f in stored if f.year == 1995]
        assert await files.set_premium(full.id, "premium")  # as another instance would
        await bot.advance(5)  # the catch-up applies it (and drops the file from the caches)
        alice = bot.user(1001, "Alice")
        (results,) = await alice.send("heat")
        (refused,) = await alice.click(results, "Heat 1995")
        assert refused.text == PREMIUM_TEXT
        (trailer,) = await alice.click(results, "Trailer")
        assert trailer.media is not None
        inline = await alice.inline("heat")
        assert [r.title for r in inline.results] == ["Heat Trailer"]  # the gated one is left out
        assert inline.is_personal
        assert inline.switch_pm_parameter == "premium"
        await make_premium(bot, alice)
        assert len((await alice.inline("heat")).results) == 2

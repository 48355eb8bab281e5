"""Small worlds several end-to-end tests start from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from testkit import BotHarness, HarnessGroup, HarnessUser


async def dark_city_in_three_types(bot: BotHarness) -> None:
    """A video, an audio file and a document that all match "dark city"."""
    movies = bot.channel("Movies")
    await movies.post_video("Dark.City.1998.720p.BluRay.mkv", size=734_003_200)
    await movies.post_audio("Dark.City.Soundtrack.mp3", size=8_000_000)
    await movies.post_document("Dark.City.Script.pdf", size=300_000, mime_type="application/pdf")


@asynccontextmanager
async def strict_rate_limit(
    mongo_uri: str,
) -> AsyncIterator[tuple[BotHarness, HarnessUser, HarnessGroup]]:
    """A burst of 3, then 6 a minute; one indexed file; Alice, in a group with the bot."""
    async with BotHarness(
        database_uri=mongo_uri, RATE_LIMIT_BURST="3", RATE_LIMIT_PER_MINUTE="6"
    ) as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        yield bot, alice, bot.group("Club", members=[alice])


@asynccontextmanager
async def captions_with_the_posts_text(mongo_uri: str) -> AsyncIterator[BotHarness]:
    """A bot whose caption template shows the post's own caption under the file name."""
    async with BotHarness(
        database_uri=mongo_uri, CUSTOM_FILE_CAPTION="{file_name}\n{caption}"
    ) as bot:
        yield bot

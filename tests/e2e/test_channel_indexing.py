"""Media posted in channels reach the search index; other chats' media do not."""

from __future__ import annotations

from testkit import BotHarness


async def test_channel_posts_are_indexed_with_their_metadata(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    post = await movies.post_document(
        "Dark.City.1998.720p.BluRay.x264.mkv", size=734_003_200, mime_type="video/x-matroska"
    )
    page = await bot.app.services.search.search("city dark 1998")
    assert [f.file_name for f in page.items] == ["Dark.City.1998.720p.BluRay.x264.mkv"]
    (listed,) = page.items
    assert (listed.file_size, listed.file_type) == (734_003_200, "video")  # from the index
    (found,) = await bot.app.services.search.records(page.items)
    assert post.media is not None
    assert (found.id, found.file_id) == (post.media.unique_id, post.media.file_id)
    assert (found.chat_id, found.message_id) == (movies.id, post.id)
    assert (found.year, found.resolution, found.file_type) == (1998, "720p", "video")


async def test_only_configured_channels_are_indexed(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, CHANNELS="@moviesarchive") as bot:
        archive = bot.channel("Archive", username="MoviesArchive")
        other = bot.channel("Other")
        await archive.post_video("Heat.1995.mkv")
        await other.post_video("Ronin.1998.mkv")
        search = bot.app.services.search
        assert (await search.search("heat")).total == 1
        assert (await search.search("ronin")).total == 0


async def test_unsupported_files_are_not_indexed(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_document("libc.so.6", mime_type="application/x-sharedlib")
    assert (await bot.app.services.search.search("libc")).total == 0

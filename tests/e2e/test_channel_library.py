"""`/channels`, `/addchannel`, `/removechannel`, `/addfile` and files admins send the bot."""

from __future__ import annotations

from testkit import BotHarness


async def test_added_channels_are_indexed_and_survive_a_restart(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", CHANNELS="@seeded") as bot:
        admin = bot.user(1, "Admin")
        seeded = bot.channel("Seeded", username="seeded")
        extra = bot.channel("Extra Films", username="extrafilms")
        await extra.post_video("Before.Added.2001.mkv")
        search = bot.running.services.search
        assert (await search.search("before added")).total == 0
        reply = (await admin.send("/addchannel @extrafilms"))[-1]
        assert "New posts of Extra Films are indexed from now on" in reply.text
        assert "forward me its newest post" in reply.text
        await bot.restart()
        await extra.post_video("After.Added.2002.mkv")
        await seeded.post_video("Seeded.Film.2003.mkv")
        assert (await search_total(bot, "after added")) == 1
        assert (await search_total(bot, "seeded film")) == 1
        listing = (await admin.send("/channels"))[-1].text
        assert "Extra Films (@extrafilms) · 1 files · last post 2 · added" in listing
        assert "Seeded (@seeded) · 1 files · last post 1 · CHANNELS" in listing


async def search_total(bot: BotHarness, query: str) -> int:
    return (await bot.running.services.search.search(query)).total


async def test_removing_a_channel_asks_then_deletes_its_files(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    movies = bot.channel("Movies", username="moviesnow")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Ronin.1998.mkv")
    assert await search_total(bot, "heat") == 1
    ask = (await admin.send("/removechannel @moviesnow"))[-1]
    assert "delete its 2 files" in ask.text
    kept = (await admin.click(ask, "Keep"))[-1]
    assert kept.text == "Kept: nothing was removed."
    assert kept.buttons == ()
    late = await admin.click(ask, "Remove and delete 2 files")  # an old client's buttons
    assert late.answer is not None
    assert late.answer.alert
    assert (
        late.answer.text == "This was already answered: kept. Send the command again to ask anew."
    )
    assert await search_total(bot, "heat") == 1
    ask = (await admin.send(f"/removechannel {movies.id}"))[-1]
    done = (await admin.click(ask, "Remove and delete 2 files"))[-1]
    assert done.text == "🗑 Movies is no longer indexed; 2 files were deleted."
    assert await search_total(bot, "heat") == 0
    assert await search_total(bot, "ronin") == 0
    await movies.post_video("Collateral.2004.mkv")
    assert await search_total(bot, "collateral") == 0
    assert "Movies" not in (await admin.send("/channels"))[-1].text
    await bot.restart()
    await movies.post_video("Thief.1981.mkv")
    assert await search_total(bot, "thief") == 0


async def test_files_admins_send_are_indexed_in_addfile_mode(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    hint = (await admin.send_document("Manhunter.1986.mkv", mime_type="video/x-matroska"))[-1]
    assert "/addfile on" in hint.text
    assert await search_total(bot, "manhunter") == 0
    assert "are indexed" in (await admin.send("/addfile on"))[-1].text
    added = (await admin.send_document("Manhunter.1986.mkv", mime_type="video/x-matroska"))[-1]
    assert added.text == "✅ Indexed: Manhunter.1986.mkv"
    assert await search_total(bot, "manhunter") == 1
    again = (await admin.send_document("Manhunter.1986.mkv", mime_type="video/x-matroska"))[-1]
    assert again.text == "Already indexed: Manhunter.1986.mkv"
    await admin.send("/addfile off")
    hint = (await admin.send_document("Thief.1981.mkv", mime_type="video/x-matroska"))[-1]
    assert "/addfile on" in hint.text
    # Anyone else's files are ignored, and the commands are refused.
    alice = bot.user(1001, "Alice")
    assert await alice.send_document("Alice.Holiday.mkv") == []
    assert "not allowed" in (await alice.send("/addfile on"))[-1].text
    assert "not allowed" in (await alice.send("/channels"))[-1].text


async def test_a_forwarded_file_from_an_indexed_channel_is_indexed_with_the_offer(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", CHANNELS="@listed") as bot:
        admin = bot.user(1, "Admin")
        listed = bot.channel("Listed", username="listed")
        other = bot.channel("Other", username="otherchan")
        old = await listed.post_history("Old.Listed.Film.1990.mkv", mime_type="video/x-matroska")
        replies = await admin.forward(old)
        assert replies.texts[0] == "✅ Indexed: Old.Listed.Film.1990.mkv"
        assert "Index Listed" in replies.texts[1]
        search = bot.running.services.search
        (found,) = await search.records((await search.search("old listed film")).items)
        assert (found.chat_id, found.message_id) == (listed.id, old.id)
        unlisted = await other.post_history("Zebra.Crossing.1991.mkv")
        replies = await admin.forward(unlisted)
        assert len(replies) == 1
        assert "Index Other" in replies[-1].text
        assert await search_total(bot, "zebra crossing") == 0

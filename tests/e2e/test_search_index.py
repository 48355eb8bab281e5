"""The full-text index as the bot keeps it: a projection of MongoDB in DATA_DIR/search that
follows every write, is rebuilt when it is lost or broken, and converges across instances."""

from __future__ import annotations

import asyncio
import re
import shutil

from testkit import BotHarness
from tests.e2e.worlds import captions_with_the_posts_text
from tests.fakes import capture_events

LOG_ID = -1002299999999


async def test_a_typo_finds_the_file_without_a_click(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("The.Fellowship.of.the.Ring.2001.mkv")
    alice = bot.user(1001, "Alice")
    (reply,) = await alice.send("felowship ring")
    assert reply.text == "🔎 1 file for felowship ring"
    assert reply.all_buttons[0].text.endswith("The Fellowship of the Ring 2001")


async def test_exact_matches_rank_above_typo_matches(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Heart.1999.mkv")
    (reply,) = await bot.user(1001, "Alice").send("heart")
    labels = [b.text for b in reply.all_buttons]
    assert labels[0].endswith("Heart 1999")
    assert labels[1].endswith("Heat 1995")  # one edit away: found, below the exact match


async def test_new_and_removed_files_reach_the_index_at_once(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    post = await movies.post_video("Ronin.1998.mkv")
    alice = bot.user(1001, "Alice")
    assert (await alice.send("ronin"))[0].text == "🔎 1 file for ronin"
    assert await bot.running.services.indexing.remove_message(movies.id, post.id)
    await bot.advance(1)
    (gone,) = await alice.send("ronin 1998")
    assert gone.text.startswith("No files match ronin 1998.")


async def test_a_deleted_index_is_rebuilt_at_start(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Alien.1979.mkv")
    index_dir = bot.data_dir / "search"
    assert (index_dir / "state.json").exists()
    await bot.running.stop()
    shutil.rmtree(index_dir)
    with capture_events() as logs:
        await bot.restart_stopped()
    assert any(e["event"] == "search_index_rebuilt" and e["files"] == 1 for e in logs)
    (reply,) = await bot.user(1001, "Alice").send("alein")  # a typo: only the index finds it
    assert reply.text == "🔎 1 file for alein"


async def test_a_corrupt_index_is_rebuilt_and_the_operator_warned(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Alien.1979.mkv")
    await bot.running.stop()
    (bot.data_dir / "search" / "meta.json").write_text("{ truncated")
    with capture_events() as logs:
        await bot.restart_stopped()
    warning = next(e for e in logs if e["event"] == "search_index_rebuild")
    assert warning["log_level"] == "warning"
    assert "corrupt" in warning["reason"]
    assert (await bot.user(1001, "Alice").send("alein"))[0].text == "🔎 1 file for alein"


async def test_two_instances_on_one_database_find_each_others_files(bot: BotHarness) -> None:
    async with BotHarness.beside(bot) as other:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        await other.channel("Films", chat_id=-1002300000001).post_video("Ronin.1998.mkv")
        await bot.advance(5)  # each instance catches up with the database every 5 s
        await other.advance(5)
        for instance in (bot, other):
            alice = instance.user(1001, "Alice")
            assert (await alice.send("haet"))[0].text == "🔎 1 file for haet"
            assert (await alice.send("ronni"))[0].text == "🔎 1 file for ronni"


async def test_an_index_from_before_the_files_existed_is_rebuilt(mongo_uri: str) -> None:
    """A new DATA_DIR beside a database that already has files (a moved deployment)."""
    first = BotHarness(database_uri=mongo_uri, keep_database=True)
    async with first:
        await first.channel("Movies").post_video("Heat.1995.mkv")
    async with BotHarness(
        database_uri=mongo_uri, database_name=first.database_name
    ) as second:  # its own, empty DATA_DIR
        assert (await second.user(1001, "Alice").send("haet"))[0].text == "🔎 1 file for haet"


async def test_episode_numbering_of_every_common_form_matches_sxxeyy(bot: BotHarness) -> None:
    movies = bot.channel("Series")
    await movies.post_video("La.Casa.Tem.1.Cap.112.HDTV.mkv")
    await movies.post_video("FooBar.0307.720p.HDTV.mkv")
    await movies.post_video("Anime.Season.2.Episode.5.mkv")
    alice = bot.user(1001, "Alice")
    assert (await alice.send("la casa s01e12"))[0].text == "🔎 1 file for la casa s01e12"
    assert (await alice.send("foobar s03e07"))[0].text == "🔎 1 file for foobar s03e07"
    assert (await alice.send("anime 2x05"))[0].text == "🔎 1 file for anime 2x05"
    assert (await alice.send("anime s02e06"))[0].text.startswith("No files match")


def search_cache_hits(reply_text: str) -> int:
    row = next(line for line in reply_text.splitlines() if line.startswith("search_results"))
    return int(row.split()[3])


async def test_new_files_keep_unrelated_cached_results_and_refresh_related_ones(
    bot: BotHarness,
) -> None:
    movies = bot.channel("Movies")
    heat = await movies.post_video("Heat.1995.mkv")
    alice, admin = bot.user(1001, "Alice"), bot.user(1, "Admin")
    assert (await alice.send("heat"))[0].text == "🔎 1 file for heat"
    hits_before = search_cache_hits((await admin.send("/cache"))[0].text)
    await movies.post_video("Ronin.1998.mkv")  # unrelated: "heat" stays cached
    assert (await alice.send("heat"))[0].text == "🔎 1 file for heat"
    hits_after = search_cache_hits((await admin.send("/cache"))[0].text)
    assert hits_after == hits_before + 1
    await movies.post_video("Heart.1999.mkv")  # one edit from "heat": that result is stale
    (fresh,) = await alice.send("heat")
    assert fresh.text == "🔎 2 files for heat"
    assert await bot.running.services.indexing.remove_message(movies.id, heat.id)
    (after_delete,) = await alice.send("heat")  # the cached page held the deleted file
    assert after_delete.text == "🔎 1 file for heat"
    assert after_delete.all_buttons[0].text.endswith("Heart 1999")


async def test_an_edited_caption_and_a_deleted_post_are_reflected(mongo_uri: str) -> None:
    async with captions_with_the_posts_text(mongo_uri) as bot:
        await edit_and_delete(bot)


async def edit_and_delete(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    post = await movies.post_video("Ronin.1998.mkv", caption="old words")
    await movies.edit_post(post, "Directed by John Frankenheimer")
    alice = bot.user(1001, "Alice")
    (results,) = await alice.send("ronin")
    (delivered,) = await alice.click(results, "Ronin 1998")
    assert delivered.media is not None
    assert "Frankenheimer" in (delivered.text or "")  # the caption the file is sent with
    await movies.delete_posts(post)
    (gone,) = await alice.send("ronin")
    assert gone.text.startswith("No files match ronin.")


async def test_without_an_index_private_searches_say_so_and_groups_stay_quiet(
    bot: BotHarness,
) -> None:
    await bot.channel("Movies").post_video("Alien.1979.mkv")
    alice = bot.user(1001, "Alice")
    club = bot.group("Film club", members=[alice])
    await bot.running.services.search.index.close()  # as while it is being rebuilt
    (reply,) = await alice.send("alien")
    assert reply.text.startswith("The search index is being rebuilt. Please try again in a minute.")
    assert re.search(r"ref: [0-9a-f]{8}", reply.text)
    assert list(await club.send(alice, "alien 1979")) == []  # no reply to every line


async def test_an_index_deleted_while_the_bot_runs_is_rebuilt(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    alice = bot.user(1001, "Alice")
    assert (await alice.send("heat"))[0].text == "🔎 1 file for heat"
    bot.damage_search_index("vanished")
    with capture_events() as logs:
        await movies.post_video("Ronin.1998.mkv")  # its handler writes to the index
        await bot.advance(10)
    assert any(e["event"] == "search_index_rebuild" for e in logs)
    assert any(e["event"] == "search_index_rebuilt" and e["files"] == 2 for e in logs)
    assert (await alice.send("ronin"))[0].text == "🔎 1 file for ronin"
    assert (await alice.send("haet"))[0].text == "🔎 1 file for haet"  # a typo: the index


async def test_index_files_overwritten_while_the_bot_runs_are_rebuilt(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Heart.1999.mkv")
    alice = bot.user(1001, "Alice")
    assert (await alice.send("heat"))[0].text.startswith("🔎 2 files")
    bot.damage_search_index("garbage")
    with capture_events() as logs:
        (answer,) = await alice.send("heart")  # answered, whatever the index holds
        await movies.post_video("Ronin.1998.mkv")
        await bot.advance(10)
    assert answer.text
    # Found broken by the search or by the post's write, whichever came first.
    rebuilt = [e["files"] for e in logs if e["event"] == "search_index_rebuilt"]
    assert rebuilt in ([2], [3]), rebuilt
    assert (await alice.send("ronin"))[0].text == "🔎 1 file for ronin"
    assert (await alice.send("heart"))[0].text.startswith("🔎 2 files")


async def test_unreadable_index_files_are_rebuilt(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    alice = bot.user(1001, "Alice")
    assert (await alice.send("heat"))[0].text == "🔎 1 file for heat"
    bot.damage_search_index("unreadable")
    with capture_events() as logs:
        await movies.post_video("Ronin.1998.mkv")
        await bot.advance(10)
    assert any(e["event"] == "search_index_rebuilt" and e["files"] == 2 for e in logs)
    assert (await alice.send("ronin heat"))[0].text.startswith("No files match")
    assert (await alice.send("ronin"))[0].text == "🔎 1 file for ronin"


async def test_a_bot_without_its_index_starts_without_counting_the_files(mongo_uri: str) -> None:
    """Whether the database has files decides a rebuild at start; a count answers that too
    slowly on a large library (the embedded server at a million files: longer than
    `DATABASE_TIMEOUT`, and the bot did not start), so the bot reads the change counter. The
    "started" post in the log channel counts nothing either: the index is being rebuilt."""
    bot = BotHarness(database_uri=mongo_uri, LOG_CHANNEL=str(LOG_ID))
    log = bot.channel("Bot log", chat_id=LOG_ID)
    async with bot:
        movies = bot.channel("Movies")
        await movies.post_video("Heat.1995.mkv")
        bot.damage_search_index("vanished")
        counting = bot.database.hold("count", collection="files")  # a count would wait forever
        try:
            with capture_events() as logs:
                await asyncio.wait_for(bot.restart(), timeout=60)
            reasons = [e["reason"] for e in logs if e["event"] == "search_index_rebuild"]
            assert reasons == ["no index yet for the files in the database"]
            alice = bot.user(1001, "Alice")
            assert (await alice.send("heat"))[0].text == "🔎 1 file for heat"
            assert not counting.happened
        finally:
            counting.release()
        started = [m.text for m in log.messages if m.text.startswith("🟢")]
    assert started == [
        "🟢 Bot started · version 0.1.0 · 0 files · 0 users",
        "🟢 Bot started · version 0.1.0 · files being indexed · 0 users",
    ]

"""`/index`: a channel's existing posts become searchable through a durable job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pyrogram.errors import ChatAdminRequired, InternalServerError
from pyrogram.session import Session
from structlog.testing import capture_logs

from testkit import BotHarness, BotMessage, HarnessChannel, HarnessUser


@pytest.fixture
async def bot(mongo_uri: str) -> AsyncIterator[BotHarness]:
    """User 1 is the admin. The release-name parser (~50 names/s) would take minutes over
    thousands of names and is not what these tests are about: names are read by the fast pass."""
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", ACCURATE_METADATA="false") as harness:
        yield harness


def title(n: int) -> str:
    """A made-up title word of its own for every number: 0 → "baaa", 1 → "baab", ..."""
    letters = ""
    for _ in range(4):
        n, rest = divmod(n, 26)
        letters = chr(ord("a") + rest) + letters
    return "b" + letters[1:]


async def history(channel: HarnessChannel, count: int, *, start: int = 0) -> list[BotMessage]:
    """`count` video posts the bot never saw, "Film <title> 2001 720p" each."""
    return [
        await channel.post_history(f"Film.{title(n)}.2001.720p.mkv", size=1_000_000 + n)
        for n in range(start, start + count)
    ]


async def found(bot: BotHarness, n: int) -> str | None:
    """The first result for "film <title n>" (titles one letter apart also match, below it)."""
    page = await bot.app.services.search.search(f"film {title(n)}")
    return page.items[0].file_name if page.items else None


async def test_index_a_channel_from_a_forwarded_post(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    archive = bot.channel("Archive")
    posts = await history(archive, 450)
    await archive.post_history(text="Welcome to the archive")
    replies = await admin.forward(posts[-1])
    # Every channel is indexed (no CHANNELS): the forwarded post's own file is at once.
    assert replies.texts[0] == f"✅ Indexed: Film.{title(449)}.2001.720p.mkv"
    offer = replies[-1]
    assert "Index Archive" in offer.text
    assert "Posts 1-450 (450 posts)" in offer.text
    assert "Files indexed from this channel so far: 1" in offer.text
    replies = await admin.click(offer, "Start")
    progress = replies[-1]
    assert "Indexing Archive" in progress.text, progress.text
    assert "100 %" in progress.text
    assert "State: ✅ done" in progress.text
    assert "Indexed 449 · duplicates 1 · not media 0 · missing 0" in progress.text
    assert await found(bot, 449) == f"Film.{title(449)}.2001.720p.mkv"


async def test_done_means_searchable_even_when_a_catch_up_reads_during_a_batch_write(
    bot: BotHarness,
) -> None:
    """A catch-up that reads the change counter while a batch's numbers are handed out but its
    files are not written yet must not move the index past them: the job says done only when
    its last files are the first results."""
    admin, _archive, offer = await offered(bot, 600)
    assert bot.database is not None
    held = bot.database.hold("insert", collection="files", after=1)  # the second batch
    click = asyncio.create_task(admin.click(offer, "Start"))
    await asyncio.wait_for(held.reached(), 60)
    await bot.running.services.search.index.catch_up()  # e.g. the periodic one, at this moment
    held.release()
    await click
    assert "State: ✅ done" in bot_message(admin, offer).text
    for n in (200, 250, 333, 399, 599):
        assert await found(bot, n) == f"Film.{title(n)}.2001.720p.mkv"


async def test_the_last_files_of_a_long_job_are_found_the_moment_it_is_done(
    bot: BotHarness,
) -> None:
    admin, _archive, offer = await offered(bot, 1_200)
    replies = await admin.click(offer, "Start")
    assert "State: ✅ done" in replies[-1].text
    for n in range(1_190, 1_200):
        assert await found(bot, n) == f"Film.{title(n)}.2001.720p.mkv"


async def test_a_declined_offer_stays_declined(bot: BotHarness) -> None:
    """Cancel removes the buttons; Start pressed later on an old client's copy of the offer
    says what was decided and starts nothing."""
    admin, archive, offer = await offered(bot, 300)
    declined = (await admin.click(offer, "Cancel"))[-1]
    assert declined.text == "Not started."
    assert declined.buttons == ()
    late = await admin.click(offer, "Start")
    assert late.answer is not None
    assert late.answer.alert
    assert late.answer.text == (
        "This was already answered: not started. Send the command again to ask anew."
    )
    await bot.advance(60)
    assert bot_message(admin, offer).text == "Not started."
    assert await bot.running.services.indexing.count_in_chat(archive.id) == 1  # the forward
    assert "No jobs" in (await admin.send("/jobs"))[-1].text


async def test_two_admins_starting_the_same_channel_at_once_make_one_job(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1,2", ACCURATE_METADATA="false") as bot:
        first, second = bot.user(1, "Ann"), bot.user(2, "Bob")
        archive = bot.channel("Archive", username="archive")
        await history(archive, 300)
        offers = [(await a.send("/index @archive 1 300"))[-1] for a in (first, second)]
        await asyncio.gather(first.click(offers[0], "Start"), second.click(offers[1], "Start"))
        texts = sorted(bot_message(a, o).text for a, o in zip((first, second), offers, strict=True))
        assert sum("already" in t for t in texts) == 1, texts
        assert await bot.running.services.indexing.count_in_chat(archive.id) == 300
        listing = (await first.send("/jobs"))[-1].text
        assert listing.count("Archive ·") == 1, listing


async def offered(bot: BotHarness, count: int) -> tuple[HarnessUser, HarnessChannel, BotMessage]:
    """The admin, a channel "Archive" with `count` old video posts, and the offer to index
    them that forwarding the last one brought."""
    admin = bot.user(1, "Admin")
    archive = bot.channel("Archive")
    posts = await history(archive, count)
    return admin, archive, (await admin.forward(posts[-1]))[-1]


async def start_index(admin: HarnessUser, offer: BotMessage) -> BotMessage:
    """Press Start under an offer; the progress message it became."""
    await admin.click(offer, "Start")
    return bot_message(admin, offer)


async def test_a_large_history_with_duplicates_text_and_deleted_posts_is_indexed_exactly(
    bot: BotHarness,
) -> None:
    admin = bot.user(1, "Admin")
    archive = bot.channel("Archive", username="bigarchive")
    await history(archive, 4_000)
    # 500 reposts of files already posted (same name and size), 300 text posts, 200 deleted.
    reposts = [
        await archive.post_history(f"Film.{title(n)}.2001.720p.mkv", size=1_000_000 + n)
        for n in range(500)
    ]
    for n in range(300):
        await archive.post_history(text=f"Announcement {n}")
    doomed = await history(archive, 200, start=4_000)
    await archive.delete_posts(*doomed, seen=False)
    last = doomed[-1].id
    assert last == 5_000
    offer = (await admin.send(f"/index @bigarchive 1 {last}"))[-1]
    assert "Posts 1-5,000 (5,000 posts)" in offer.text
    progress = await start_index(admin, offer)
    assert "State: ✅ done" in progress.text
    assert (
        "Indexed 4,000 · duplicates 500 · not media 300 · missing 200 · errors 0" in progress.text
    )
    assert await bot.app.services.indexing.count_in_chat(archive.id) == 4_000
    for n in (0, 1, 1_999, 3_999):
        assert await found(bot, n) == f"Film.{title(n)}.2001.720p.mkv"
    assert reposts[0].id == 4_001
    listing = (await admin.send("/jobs"))[-1]
    assert "Archive · ✅ done" in listing.text
    assert "posts 5,000/5,000" in listing.text


async def test_a_long_flood_wait_on_fetches_delays_the_job_without_stopping_it(
    bot: BotHarness,
) -> None:
    admin, archive, offer = await offered(bot, 1_000)
    bot.telegram.flood_wait("GetMessages", 300, after=2)
    progress = await start_index(admin, offer)
    assert "Telegram asked me to wait 5 min 0 s" in progress.text, progress.text
    assert "State: ▶️ running" in progress.text
    assert await bot.app.services.indexing.count_in_chat(archive.id) < 1_000
    await bot.advance(300)
    progress = bot_message(admin, progress)
    assert "State: ✅ done" in progress.text
    assert await bot.app.services.indexing.count_in_chat(archive.id) == 1_000


async def test_a_flood_wait_on_the_progress_edit_does_not_stop_the_job(bot: BotHarness) -> None:
    admin, archive, offer = await offered(bot, 600)
    bot.telegram.flood_wait("EditMessage", 120, times=2)
    await start_index(admin, offer)
    assert await bot.app.services.indexing.count_in_chat(archive.id) == 600
    assert await found(bot, 599) == f"Film.{title(599)}.2001.720p.mkv"


async def test_transient_telegram_errors_are_retried(bot: BotHarness) -> None:
    """Pyrogram's session retries an internal server error itself (`Session.MAX_RETRIES`
    attempts, a second apart); when it gives up, the job counts an error and fetches again."""
    admin, archive, offer = await offered(bot, 500)
    failures = Session.MAX_RETRIES + 2  # one give-up, then two errors the session absorbs
    bot.telegram.fail("GetMessages", error=InternalServerError(), times=failures, after=1)
    progress = await start_index(admin, offer)
    assert "State: ✅ done" in progress.text
    assert "errors 1" in progress.text
    assert await bot.app.services.indexing.count_in_chat(archive.id) == 500


@pytest.mark.parametrize("call", [3, 4, 6])
async def test_a_killed_bot_resumes_the_job_and_stores_every_file_once(
    bot: BotHarness, call: int
) -> None:
    admin, archive, offer = await offered(bot, 1_500)
    # Two GetMessages calls check the channel (offer, Start); then every batch is fetched
    # while the one before it is being stored: killed at the first batch, or with the first
    # or the third batch in flight.
    bot.stop_abruptly_at("GetMessages", call=call)
    await admin.click(offer, "Start")
    assert bot.app is None
    with capture_logs() as logs:
        await bot.restart_stopped()
    starts = ("index_job_started", "index_job_resumed_from_checkpoint")
    (resumed,) = [e for e in logs if e["event"] in starts]
    assert resumed["after"] in (0, 200, 400, 600)
    assert any(e["event"] == "index_job_done" for e in logs)
    progress = bot_message(admin, offer)
    assert "State: ✅ done" in progress.text, progress.text
    assert "Posts 1-1,500: 1,500 of 1,500 read" in progress.text
    files = bot.app.services.indexing
    assert await files.count_in_chat(archive.id) == 1_500
    for n in (0, 599, 600, 1_499):
        assert await found(bot, n) == f"Film.{title(n)}.2001.720p.mkv"


async def test_pause_resume_and_cancel_from_the_buttons_survive_a_restart(
    bot: BotHarness,
) -> None:
    admin, archive, offer = await offered(bot, 800)
    bot.telegram.flood_wait("GetMessages", 60, after=2)
    progress = await start_index(admin, offer)
    progress = (await admin.click(progress, "Pause"))[-1]
    assert "State: ⏸ paused" in progress.text
    await bot.advance(60)
    indexed = await bot.app.services.indexing.count_in_chat(archive.id)
    assert 0 < indexed < 800
    await bot.restart()
    await bot.advance(120)
    assert await bot.app.services.indexing.count_in_chat(archive.id) == indexed
    progress = bot_message(admin, progress)
    assert "State: ⏸ paused" in progress.text
    progress = (await admin.click(progress, "Resume"))[-1]
    assert "State: ✅ done" in bot_message(admin, progress).text
    assert await bot.app.services.indexing.count_in_chat(archive.id) == 800

    other = bot.channel("Other")
    more = await history(other, 600, start=5_000)
    offer = (await admin.forward(more[-1]))[-1]
    bot.telegram.flood_wait("GetMessages", 60, after=2)
    progress = await start_index(admin, offer)
    progress = (await admin.click(progress, "Cancel"))[-1]
    assert "State: ✖️ cancelled" in progress.text
    assert progress.all_buttons == []
    await bot.restart()
    await bot.advance(120)
    assert await bot.app.services.indexing.count_in_chat(other.id) < 600
    assert "cancelled" in (await admin.send("/jobs"))[-1].text


async def test_one_unfinished_job_per_channel_and_cancel_by_command(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    archive = bot.channel("Archive", username="thearchive")
    posts = await history(archive, 500)
    offer = (await admin.forward(posts[-1]))[-1]
    bot.telegram.flood_wait("GetMessages", 600, after=2)
    progress = await start_index(admin, offer)
    again = (await admin.send(f"https://t.me/thearchive/{posts[-1].id}"))[-1]
    refused = (await admin.click(again, "Start"))[-1]
    assert "already has an unfinished job" in refused.text
    job_id = progress.text.rsplit("Job ", 1)[1].strip()
    assert (await admin.send("/cancel zz"))[-1].text.startswith("Use /cancel job_id")
    assert "No job has that id" in (await admin.send("/cancel ffffffff"))[-1].text
    assert "cancelled" in (await admin.send(f"/cancel {job_id}"))[-1].text
    assert "already cancelled" in (await admin.send(f"/cancel {job_id}"))[-1].text
    await bot.advance(600)
    assert "State: ✖️ cancelled" in bot_message(admin, progress).text


async def test_a_paused_job_cancelled_by_another_admin_shows_it_at_once(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1,2", ACCURATE_METADATA="false") as bot:
        ann, bob = bot.user(1, "Ann"), bot.user(2, "Bob")
        archive = bot.channel("Archive")
        posts = await history(archive, 800)
        offer = (await ann.forward(posts[-1]))[-1]
        bot.telegram.flood_wait("GetMessages", 60, after=2)
        progress = await start_index(ann, offer)
        paused = (await ann.click(progress, "Pause"))[-1]
        assert "State: ⏸ paused" in paused.text
        job_id = paused.text.rsplit("Job ", 1)[1].strip()
        assert "cancelled" in (await bob.send(f"/cancel {job_id}"))[-1].text
        progress = bot_message(ann, paused)  # no time passes, nothing else happens
        assert "State: ✖️ cancelled" in progress.text
        assert progress.all_buttons == []
        resumed = await ann.click(paused, "Resume")  # Ann's client still showed Resume
        assert resumed.answer is not None
        assert resumed.answer.text == "Nothing to resume: the job is cancelled."
        assert "State: ✖️ cancelled" in bot_message(ann, progress).text


async def test_only_admins_can_index_see_or_cancel_jobs(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    mallory = bot.user(666, "Mallory")
    archive = bot.channel("Archive", username="thearchive")
    posts = await history(archive, 300)
    offer = (await admin.forward(posts[-1]))[-1]
    bot.telegram.flood_wait("GetMessages", 600, after=1)
    progress = await start_index(admin, offer)
    for command in ("/index @thearchive 1 300", "/jobs", "/cancel abcd"):
        answer = (await mallory.send(command))[-1]
        assert "not allowed" in answer.text, (command, answer.text)
    # A forwarded post or a post link from anyone else is just a search.
    searched = (await mallory.send(f"https://t.me/thearchive/{posts[-1].id}"))[-1]
    assert "Index" not in searched.text
    for label in ("Pause", "Cancel"):
        data = progress.button(label).data
        assert data is not None
        answer = (await mallory.press_data(progress, data)).answer
        assert answer is not None
        assert "not allowed" in answer.text
    assert (
        "State: ⏳" in bot_message(admin, progress).text
        or "running" in bot_message(admin, progress).text
    )


async def test_channels_the_bot_cannot_read_get_a_clear_answer(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    bot.channel("Closed", username="closedchannel", bot_is_admin=False)
    answer = (await admin.send("/index @closedchannel 1 100"))[-1]
    assert "I am not an admin of that channel" in answer.text
    assert "reference" in answer.text.lower() or "ref" in answer.text.lower()
    answer = (await admin.send("/index @nosuchchannel 1 100"))[-1]
    assert "I cannot find that channel" in answer.text
    answer = (await admin.send("https://t.me/c/1999999999/10"))[-1]
    assert "I cannot find that channel" in answer.text
    assert "is not a channel" in (await admin.send("/index hello! 1 2"))[-1].text
    assert "range is empty" in (await admin.send("/index @closedchannel 10 2"))[-1].text
    usage = (await admin.send("/index @closedchannel"))[-1]
    assert "cannot see which post is a channel's last" in usage.text


async def test_losing_access_mid_run_pauses_the_job_and_tells_the_admin(bot: BotHarness) -> None:
    admin, archive, offer = await offered(bot, 600)
    bot.telegram.fail("GetMessages", error=ChatAdminRequired(), times=10, after=2)
    progress = await start_index(admin, offer)
    assert "State: ⏸ paused: I am not an admin of that channel" in progress.text
    told = admin.chat[-1]
    assert "Indexing Archive paused" in told.text
    indexed = await bot.app.services.indexing.count_in_chat(archive.id)
    assert 0 < indexed < 600
    bot.telegram.clear_faults()
    progress = (await admin.click(progress, "Resume"))[-1]
    assert "State: ✅ done" in bot_message(admin, progress).text
    assert await bot.app.services.indexing.count_in_chat(archive.id) == 600


def bot_message(user: HarnessUser, message: BotMessage) -> BotMessage:
    """`message` as it is now (edited since)."""
    (current,) = [m for m in user.chat if m.id == message.id]
    return current

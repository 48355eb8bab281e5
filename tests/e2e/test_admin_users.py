"""`/ban`, `/unban`, `/banned`, `/user`, `/premium` and `/myplan`: what admins and users see."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from pyrogram.errors import UserIsBlocked

from handlers.views import ADMIN_COMMANDS
from testkit import BotHarness
from tests.fakes import capture_events

INFO = "Premium: write to @filmboss."


async def test_a_ban_is_told_once_and_stops_everything_until_lifted(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice", username="alice")
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    await alice.send("/start")
    reply = (await admin.send("/ban @alice posting spam links"))[-1]
    assert (
        reply.text == "🚫 Banned Alice (@alice, 1001). Reason: posting spam links. They were told."
    )
    assert (
        alice.chat[-1].text == "🚫 You have been banned from this bot.\nReason: posting spam links"
    )
    again = (await admin.send("/ban 1001 again"))[-1]
    assert again.text.startswith("Alice (@alice, 1001) is already banned since ")
    assert [m.text for m in alice.chat].count(alice.chat[-1].text) == 1  # told once
    refused = (await alice.send("heat"))[-1]
    assert "banned" in refused.text.lower()
    assert "Heat" not in refused.text
    assert (await alice.inline("heat")).results == ()
    listing = (await admin.send("/banned"))[-1].text
    assert "Alice (@alice, 1001) — posting spam links" in listing
    assert (await admin.send("/unban @alice"))[-1].text == (
        "✅ Alice (@alice, 1001) is no longer banned. They were told."
    )
    assert alice.chat[-1].text == "✅ You can use this bot again."
    found = (await alice.send("heat"))[-1]
    assert found.button("Heat 1995")
    assert (await admin.send("/unban 1001"))[-1].text == "Alice (@alice, 1001) is not banned."
    assert (await admin.send("/banned"))[-1].text == "Nobody is banned."


async def test_ban_answers_bad_arguments_and_never_bans_an_admin(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    assert (await admin.send("/ban"))[-1].text.startswith("Usage: /ban <id|@username> [reason]")
    unknown = (await admin.send("/ban @nobody"))[-1].text
    assert unknown.startswith("I don't know @nobody")
    assert (await admin.send("/ban 1"))[-1].text.startswith("Admins cannot be banned")
    # A user the bot never saw can be banned by id: they meet the ban on their first message.
    assert "Banned user (4242)" in (await admin.send("/ban 4242"))[-1].text
    stranger = bot.user(4242, "Stranger")
    assert "banned" in (await stranger.send("hello"))[-1].text.lower()
    assert (await admin.send("/unban"))[-1].text == "Usage: /unban <id|@username>"
    assert (await admin.send("/user"))[-1].text == "Usage: /user <id|@username>"
    assert (await admin.send("/premium"))[-1].text.startswith("Usage:")
    bad = (await admin.send("/premium add 1001 soon"))[-1].text
    assert bad.startswith("The length must look like 30d, 12h, 45m, 2w or 1y.")


@pytest.mark.parametrize(
    "command", ["/ban 1001", "/unban 1001", "/banned", "/user 1001", "/premium list"]
)
async def test_user_commands_are_refused_to_non_admins(bot: BotHarness, command: str) -> None:
    alice = bot.user(1001, "Alice")
    assert "not allowed" in (await alice.send(command))[-1].text


async def test_user_card_shows_activity_plan_and_ban(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice", username="alice")
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    results = (await alice.send("heat"))[-1]
    await alice.click(results, "Heat 1995")
    await alice.send("ronin")
    card = (await admin.send("/user 1001"))[-1].text
    assert card.splitlines()[0] == "Alice (@alice, 1001)"
    assert "Plan: free" in card
    assert "Banned: no" in card
    assert "Blocked the bot: no" in card
    assert "Searches: 2 · Downloads: 1" in card
    assert (await admin.send("/user 777"))[-1].text == "777 has never written to the bot."


async def test_premium_plans_start_extend_list_and_end(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", PREMIUM_INFO=INFO) as bot:
        admin = bot.user(1, "Admin")
        alice = bot.user(1001, "Alice")
        await alice.send("/start")
        now = bot.clock.now()
        until = (now + _days(30)).strftime("%Y-%m-%d %H:%M UTC")
        assert (await admin.send("/premium add 1001 30d"))[-1].text == (
            f"⭐ Alice (1001): premium until {until}. They were told."
        )
        assert alice.chat[-1].text == f"⭐ Your premium plan is active until {until}. Enjoy!"
        extended = (now + _days(60)).strftime("%Y-%m-%d %H:%M UTC")
        assert (await admin.send("/premium add 1001 30d"))[-1].text == (
            f"⭐ Alice (1001): extended to {extended}. They were told."
        )
        assert (await alice.send("/myplan"))[-1].text == (
            f"⭐ Your plan: premium until {extended} (60 d left)."
        )
        listing = (await admin.send("/premium list"))[-1].text
        assert f"• Alice (1001) — until {extended} (60 d left)" in listing
        assert (await admin.send("/premium remove 1001"))[-1].text == (
            "Alice (1001): the premium plan has ended. They were told."
        )
        assert alice.chat[-1].text == "Your premium plan was ended by an admin."
        assert (await alice.send("/myplan"))[-1].text.startswith("Your plan: free.")
        assert INFO in alice.chat[-1].text
        assert (await admin.send("/premium list"))[-1].text == "No one has a running premium plan."
        assert (await admin.send("/premium remove 1001"))[-1].text == (
            "1001 has no running premium plan."
        )
        assert (await admin.send("/premium add 1001 forever"))[-1].text == (
            "⭐ Alice (1001) is premium forever. They were told."
        )
        assert (await alice.send("/myplan"))[-1].text == "⭐ Your plan: premium, with no end date."
        assert (await admin.send("/myplan"))[-1].text == (
            "You are an admin: every file is open to you."
        )


async def test_a_plan_ends_at_the_exact_second_and_reminders_survive_a_restart(
    mongo_uri: str,
) -> None:
    async with BotHarness(
        database_uri=mongo_uri, ADMINS="1", PREMIUM_ONLY="true", PREMIUM_INFO=INFO
    ) as bot:
        admin = bot.user(1, "Admin")
        alice = bot.user(1001, "Alice")
        movies = bot.channel("Movies")
        await movies.post_video("Heat.1995.mkv")
        await movies.post_video("Heat.Trailer.mkv")
        await admin.send("/premium add 1001 2d")
        results = (await alice.send("heat"))[-1]
        assert (await alice.click(results, "Heat 1995"))[-1].media is not None
        await bot.advance(86_400 + 120)  # one day before the end: reminded once
        soon = [m.text for m in alice.chat if "ends in less than a day" in m.text]
        assert len(soon) == 1
        assert INFO in soon[0]
        await bot.restart()
        await bot.advance(120)
        assert len([m for m in alice.chat if "ends in less than a day" in m.text]) == 1
        # The bot is down when the plan ends: the reminder comes when it is back.
        end = bot.clock.now() + _days(1) - _seconds(240)  # the plan's end (2 days after start)
        await bot.app.stop()
        bot.clock.advance((end - bot.clock.now()).total_seconds() - 1)
        await bot.restart_stopped()
        assert (await alice.click(results, "Heat Trailer"))[-1].media is not None
        bot.clock.advance(1)  # the plan's last second has passed: refused at once
        refused = (await alice.click(results, "Heat Trailer"))[-1]
        assert refused.media is None
        assert "premium users only" in refused.text
        await bot.advance(60)
        ended = [m.text for m in alice.chat if m.text.startswith("Your premium plan has ended")]
        assert len(ended) == 1
        await bot.restart()
        await bot.advance(120)
        assert len([m for m in alice.chat if m.text.startswith("Your premium plan has ended")]) == 1


async def test_a_short_plan_gets_no_ends_tomorrow_reminder(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    await alice.send("/start")
    await admin.send("/premium add 1001 12h")
    await bot.advance(3600)
    assert not [m for m in alice.chat if "ends in less than a day" in m.text]
    await bot.advance(12 * 3600)
    assert alice.chat[-1].text.startswith("Your premium plan has ended")


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


# --- share links -------------------------------------------------------------------------------


async def _link(bot: BotHarness, options: str = "") -> str:
    """An admin's share link to Heat.1995.mkv (found, delivered, then replied to with /link)."""
    admin = bot.user(1, "Admin")
    results = (await admin.send("heat 1995"))[-1]
    delivered = (await admin.click(results, "Heat 1995"))[-1]
    made = (await admin.reply(delivered, f"/link {options}".strip()))[-1]
    assert made.text.startswith("🔗 Link to Heat.1995.mkv\nhttps://t.me/")
    return made.text.splitlines()[1]


async def test_link_overrides_decide_who_gets_the_file(mongo_uri: str) -> None:
    async with BotHarness(
        database_uri=mongo_uri, ADMINS="1", PREMIUM_ONLY="true", PREMIUM_INFO=INFO
    ) as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        free = await _link(bot, "free")
        assert (await alice.open_link(free))[-1].media is not None  # free link, premium file
        plain = await _link(bot)
        refused = (await alice.open_link(plain))[-1]
        assert refused.media is None
        assert "premium users only" in refused.text
        await bot.user(1, "Admin").send("/premium add 1001 1d")
        assert (await alice.open_link(plain))[-1].media is not None


async def test_premium_links_refuse_free_users_and_dead_links_say_why(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    premium = await _link(bot, "premium")
    assert "premium users only" in (await alice.open_link(premium))[-1].text
    limited = await _link(bot, "uses=1 expires=1h")
    assert (await alice.open_link(limited))[-1].media is not None
    used_up = (await bot.user(1002, "Bob").open_link(limited))[-1]
    assert used_up.text.startswith("This link has been used up.")
    assert "ref:" in used_up.text
    short = await _link(bot, "expires=1h")
    await bot.advance(3600)
    assert (await alice.open_link(short))[-1].text.startswith("This link has expired.")
    revoked = await _link(bot)
    code = revoked.rsplit("l_", 1)[1]
    listing = (await admin.send("/links"))[-1].text
    assert f"{code} — Heat.1995.mkv" in listing
    assert "1/1 uses" in listing
    unlinked = (await admin.send(f"/unlink {code}"))[-1].text
    assert unlinked == f"🗑 Link {code} revoked: it no longer works."
    assert (await alice.open_link(revoked))[-1].text.startswith(
        "This link is not valid: it was revoked or never existed."
    )
    assert (await admin.send("/link"))[-1].text.startswith("Reply /link to a file")
    bad = (await admin.send("/link uses=lots"))[-1].text
    assert bad.startswith("I don't understand 'uses=lots'.")
    assert "not allowed" in (await alice.send("/links"))[-1].text


async def test_a_banned_user_gets_nothing_through_a_link(bot: BotHarness) -> None:
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    link = await _link(bot, "free")
    await bot.user(1, "Admin").send("/ban 1001")
    refused = (await bot.user(1001, "Alice").open_link(link))[-1]
    assert refused.media is None
    assert "banned" in refused.text.lower()


async def test_stats_shows_files_users_activity_and_storage(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    movies = bot.channel("Movies", username="moviesnow")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Ronin.1998.mkv")
    await movies.post_audio("Heat.Soundtrack.mp3")
    alice = bot.user(1001, "Alice")
    results = (await alice.send("heat 1995"))[-1]
    await alice.click(results, "Heat 1995")
    await admin.send("/ban 1002")
    await admin.send("/premium add 1001 30d")
    stats = (await admin.send("/stats"))[-1].text
    lines = stats.splitlines()
    assert lines[0] == "Bot statistics"
    assert "Files: 3 (2 videos · 1 audios)" in lines
    assert "Channels: 1" in lines
    assert "Users: 3 · active in 7 days 2 · blocked the bot 0 · banned 1 · premium 1" in lines
    assert "Today: 1 searches · 1 files sent" in lines
    assert any(line.startswith("MongoDB: ") and "indexes" in line for line in lines)
    assert any(line.startswith("Search index: ") for line in lines)
    assert any(line.startswith("Version: ") for line in lines)


async def test_users_and_chats_come_as_csv_files(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, 'Alice, "the" first', username="alice")
    await alice.send("/start")
    await admin.send("/ban 1001 spam, links")
    bob = bot.user(1002, "Bob")
    club = bot.group("Film Club", members=[bob])
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    await club.send(bob, "heat 1995")
    users = (await admin.send("/users"))[-1]
    assert users.media is not None
    assert users.media.file_name == "users.csv"
    assert users.text == "3 users."
    rows = list(csv.reader(io.StringIO((users.media.content or b"").decode())))
    assert rows[0][:3] == ["id", "first_name", "username"]
    alice_row = next(r for r in rows if r[0] == "1001")
    assert alice_row[1] == 'Alice, "the" first'
    assert alice_row[7] == "spam, links"
    chats = (await admin.send("/chats"))[-1]
    assert chats.media is not None
    chat_rows = list(csv.reader(io.StringIO((chats.media.content or b"").decode())))
    assert [r[1] for r in chat_rows[1:]] == ["Film Club"]
    assert "not allowed" in (await bob.send("/users"))[-1].text


async def test_leave_makes_the_bot_leave_a_group(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    club = bot.group("Film Club", members=[alice])
    await bot.channel("Movies").post_video("Heat.1995.mkv")
    assert await club.send(alice, "heat 1995")
    assert (await admin.send("/leave"))[-1].text.startswith("Usage: /leave <chat id>")
    assert (await admin.send(f"/leave {club.id}"))[-1].text == "👋 I left Film Club."
    assert not club.bot_is_member
    assert await club.send(alice, "heat 1995") == []
    chats = (await admin.send("/chats"))[-1]
    assert chats.media is not None
    (row,) = list(csv.reader(io.StringIO((chats.media.content or b"").decode())))[1:]
    assert row[1:4] == ["Film Club", "supergroup", "no"]


async def test_delete_removes_exact_matches_after_confirmation(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.CAM.mkv")
    await movies.post_video("Heat.1995.1080p.mkv")
    await movies.post_video("Heart.Of.Glass.1976.mkv")
    assert (await admin.send("/delete"))[-1].text.startswith("Usage: /delete <query>")
    offer = (await admin.send("/delete heat cam"))[-1]
    assert offer.text.splitlines()[:2] == ["🗑 1 files match “heat cam”:", "• Heat.1995.CAM.mkv"]
    kept = (await admin.click(offer, "Keep"))[-1]
    assert kept.text == "Kept: nothing was deleted."
    assert kept.buttons == ()
    late = await admin.click(offer, "Delete 1 files")  # an old client still shows the buttons
    assert late.answer is not None
    assert late.answer.alert
    assert (
        late.answer.text == "This was already answered: kept. Send the command again to ask anew."
    )
    assert (await bot.running.services.search.search("heat 1995")).total == 2
    offer = (await admin.send("/delete heat"))[-1]
    assert "2 files match" in offer.text
    assert "Heart" not in offer.text  # a typo match is never deleted
    done = (await admin.click(offer, "Delete 2 files"))[-1]
    assert done.text == "🗑 Deleted 2 files."
    assert (await bot.running.services.search.search("heat 1995")).total == 0
    assert (await bot.running.services.search.search("heart glass")).total == 1
    nothing = (await admin.send("/delete heat"))[-1].text
    assert nothing == "No file matches “heat” word for word. Nothing to delete."
    assert "not allowed" in (await bot.user(1001, "Alice").send("/delete heart"))[-1].text


async def test_deleteall_needs_the_confirmation_word(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Ronin.1998.mkv")
    prompt = (await admin.send("/deleteall"))[-1].text
    assert "all 2 files" in prompt
    assert "/deleteall DELETE-EVERYTHING" in prompt
    assert "all 2 files" in (await admin.send("/deleteall yes"))[-1].text
    done = (await admin.send("/deleteall DELETE-EVERYTHING"))[-1]
    assert done.text == "🗑 Deleted 2 files."
    assert (await bot.running.services.search.search("ronin")).total == 0


async def test_a_batch_link_delivers_posts_in_order_across_a_restart(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    movies = bot.channel("Movies", username="moviesnow")
    names = [f"Saga.Part.{n:02d}.mkv" for n in range(1, 9)]
    posts = [await movies.post_video(name) for name in names]
    await movies.post_document("Saga.Notes.txt", mime_type="text/plain")  # not media: skipped
    assert (await admin.send("/batch"))[-1].text.startswith("Usage: /batch")
    first, last = posts[0].id, posts[-1].id
    made = (
        await admin.send(
            f"/batch https://t.me/moviesnow/{first} https://t.me/moviesnow/{last} uses=1"
        )
    )[-1]
    assert made.text.startswith(f"📦 Link to 8 files of Movies (posts {first}-{last})")
    url = made.text.splitlines()[1]
    bot.telegram.enforce_rate_limits = True
    bot.stop_abruptly_at("SendMedia", call=4)
    started = await alice.open_link(url)
    assert started[0].text == "📦 Sending you 8 files, about one a second."
    await bot.restart_stopped()
    await bot.advance(30)
    received = [m.media.file_name for m in alice.chat if m.media is not None]
    assert received == names  # in order; the one in flight at the crash was resent
    used = (await bot.user(1002, "Bob").open_link(url))[-1]
    assert used.text.startswith("This link has been used up.")


@pytest.mark.parametrize("command", [name for name, _ in ADMIN_COMMANDS])
async def test_every_admin_command_refuses_non_admins(bot: BotHarness, command: str) -> None:
    alice = bot.user(1001, "Alice")
    reply = (await alice.send(f"/{command} 1001"))[-1]
    assert reply.text.startswith("You are not allowed to do that.")
    assert "ref:" in reply.text


BAD_ARGUMENTS = {
    "/ban": "Usage: /ban",
    "/unban": "Usage: /unban",
    "/user x y": "Usage: /user",
    "/premium add 1001": "Usage:",
    "/premium add 1001 3q": "The length must look like",
    "/link": "Reply /link to a file",
    "/unlink": "Usage: /unlink",
    "/batch https://t.me/a/1": "Usage: /batch",
    "/broadcast": "Reply to a message with",
    "/delete": "Usage: /delete",
    "/leave x": "Usage: /leave",
    "/index": "To index a channel's posts, forward me any post of it",
    "/cancel": "Use /cancel job_id",
}


@pytest.mark.parametrize(("command", "answer"), BAD_ARGUMENTS.items())
async def test_admin_commands_answer_bad_arguments_with_usage(
    bot: BotHarness, command: str, answer: str
) -> None:
    reply = (await bot.user(1, "Admin").send(command))[-1]
    assert answer in reply.text


@pytest.mark.parametrize(
    "action", ["ix", "ixn", "jb", "rmc", "rmn", "dl", "dln", "bc", "bcn", "bj"]
)
async def test_every_admin_button_refuses_non_admins(bot: BotHarness, action: str) -> None:
    """A correctly signed admin button (a forwarded prompt, an old client) pressed by anyone
    else: "not allowed", and nothing is decided or done."""
    alice = bot.user(1001, "Alice")
    greeting = (await alice.send("/start"))[-1]
    data = bot.app.services.callbacks.encode(action, "x")
    answer = (await alice.press_data(greeting, data)).answer
    assert answer is not None
    assert answer.text.startswith("You are not allowed to do that.")
    assert await bot.app.database.collection("prompts").count_documents({}) == 0


async def _batch_link(bot: BotHarness, count: int) -> str:
    admin = bot.user(1, "Admin")
    movies = bot.channel("Movies", username="moviesnow")
    posts = [await movies.post_video(f"Saga.Part.{n:02d}.mkv") for n in range(1, count + 1)]
    first, last = posts[0].id, posts[-1].id
    made = await admin.send(f"/batch https://t.me/moviesnow/{first} https://t.me/moviesnow/{last}")
    return made[-1].text.splitlines()[1]


async def test_a_batch_to_a_user_who_blocked_the_bot_ends_and_marks_them(bot: BotHarness) -> None:
    url = await _batch_link(bot, 8)
    alice = bot.user(1001, "Alice")
    # Alice blocks the bot after the second file.
    bot.telegram.fail("SendMedia", error=UserIsBlocked, chat_id=alice.id, after=2, times=1_000)
    with capture_events() as logs:
        await alice.open_link(url)
        await bot.advance(30)
        tried = bot.telegram.calls("SendMedia", chat_id=alice.id)
        await bot.advance(600)  # ten minutes later: not tried again
    assert tried == 3  # two files, then the refusal
    assert bot.telegram.calls("SendMedia", chat_id=alice.id) == tried
    record = await bot.running.users.get(alice.id)
    assert record is not None
    assert record.blocked_bot
    ended = [e for e in logs if e.get("event") == "batch_job_ended"]
    assert [(e["sent"], e["reason"]) for e in ended] == [(2, "the user blocked the bot")]


async def test_a_batch_to_a_user_banned_meanwhile_ends(bot: BotHarness) -> None:
    url = await _batch_link(bot, 8)
    admin, alice = bot.user(1, "Admin"), bot.user(1001, "Alice")
    bot.telegram.flood_wait("SendMedia", 60, chat_id=alice.id, after=2)  # the job waits it out
    with capture_events() as logs:
        await alice.open_link(url)
        await admin.send("/ban 1001 sharing the links")  # meanwhile
        await bot.advance(600)
    files = [m for m in alice.chat if m.media is not None]
    assert 1 <= len(files) < 8
    ended = [e for e in logs if e.get("event") == "batch_job_ended"]
    assert [e["reason"] for e in ended] == ["the user is banned"]
    # The files sent, and the one refused with the FloodWait: never tried again.
    assert bot.telegram.calls("SendMedia", chat_id=alice.id) == len(files) + 1

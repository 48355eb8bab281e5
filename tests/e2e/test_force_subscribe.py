"""Force-subscribe (AUTH_CHANNELS, AUTH_MODE): join buttons, "try again", request mode, caching."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from testkit import BotHarness, BotMessage, HarnessChannel, HarnessUser
from tests.fakes import capture_events


@asynccontextmanager
async def gated_bot(
    mongo_uri: str, *, mode: str = "member", public: bool = False
) -> AsyncIterator[tuple[BotHarness, HarnessChannel, HarnessUser]]:
    bot = BotHarness(database_uri=mongo_uri, ADMINS="1", AUTH_MODE=mode)
    news = bot.channel("Film News", username="filmnews" if public else None)
    bot.configure(AUTH_CHANNELS=news.id)
    async with bot:
        await bot.channel("Movies").post_video("Heat.1995.1080p.mkv", size=3_000_000_000)
        yield bot, news, bot.user(1001, "Alice")


async def ask_for_heat(alice: HarnessUser) -> list[BotMessage]:
    (results,) = await alice.send("heat")
    return list(await alice.click(results, "Heat"))


async def test_non_members_get_join_buttons_then_the_file_after_joining(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri) as (bot, news, alice):
        (results,) = await alice.send("heat")  # searching is open to everyone
        (gate,) = await alice.click(results, "Heat")
        assert gate.text.startswith("🔒 Join first")
        join = gate.button("Join Film News")
        assert join.url is not None
        assert join.url.startswith("https://t.me/+")  # a private channel: an exported invite
        retry = await alice.click(gate, "Try again")
        assert retry.answer is not None
        assert retry.answer.alert
        assert retry.answer.text == (
            "Please join the channel(s) above first, then press the button again."
        )
        assert list(retry) == []
        alice.join(news)
        done = await alice.click(gate, "Try again")  # re-checked now, not from the cache
        edited, delivered = done
        assert edited.id == gate.id
        assert edited.text == "✅ Thanks for joining! Here is your file."
        assert delivered.media is not None
        assert delivered.media.file_name == "Heat.1995.1080p.mkv"
        # The invite link is made once and kept: no new link per restart.
        await bot.restart()
        alice.leave(news)
        (again,) = await ask_for_heat(alice)
        assert again.button("Join Film News").url == join.url
        assert len(bot.telegram.invite_links) == 1


async def test_public_channels_are_joined_by_username(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri, public=True) as (_, _news, alice):
        (gate,) = await ask_for_heat(alice)
        assert gate.button("Join").url == "https://t.me/filmnews"


async def test_auth_channels_may_be_given_by_username(mongo_uri: str) -> None:
    bot = BotHarness(database_uri=mongo_uri, AUTH_CHANNELS="@FilmNews")
    news = bot.channel("Film News", username="filmnews")
    async with bot:
        await bot.channel("Movies").post_video("Heat.1995.1080p.mkv")
        alice = bot.user(1001, "Alice")
        (gate,) = await ask_for_heat(alice)
        assert gate.button("Join Film News").url == "https://t.me/filmnews"
        alice.join(news)
        done = await alice.click(gate, "Try again")
        assert done[-1].media is not None


async def test_left_and_kicked_users_are_not_members_and_admins_are_exempt(
    mongo_uri: str,
) -> None:
    async with gated_bot(mongo_uri) as (bot, news, alice):
        alice.join(news)
        (file_message,) = await ask_for_heat(alice)
        assert file_message.media is not None
        alice.leave(news)
        await bot.advance(61)  # membership is cached for a minute
        (gate,) = await ask_for_heat(alice)
        assert gate.text.startswith("🔒 Join first")
        alice.get_kicked(news)
        await bot.advance(61)
        (gate,) = await ask_for_heat(alice)
        assert gate.text.startswith("🔒 Join first")
        admin = bot.user(1, "Admin")  # not in the channel at all
        (delivered,) = await ask_for_heat(admin)
        assert delivered.media is not None


async def test_membership_is_cached_briefly(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri) as (bot, news, alice):
        alice.join(news)
        await ask_for_heat(alice)
        calls = bot.telegram.calls("GetParticipant", chat_id=news.id)
        assert calls >= 1  # asked Telegram once
        alice.leave(news)
        (still,) = await ask_for_heat(alice)  # within the minute: the cached answer
        assert still.media is not None
        assert bot.telegram.calls("GetParticipant", chat_id=news.id) == calls
        await bot.advance(61)
        (gate,) = await ask_for_heat(alice)
        assert gate.text.startswith("🔒 Join first")


async def test_request_mode_counts_a_pending_join_request(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri, mode="request") as (bot, news, alice):
        (gate,) = await ask_for_heat(alice)
        assert "send a join request" in gate.text
        assert bot.telegram.invite_links[-1][2] is True  # the link asks for approval
        await alice.request_join(news)
        done = await alice.click(gate, "Try again")
        assert done[-1].media is not None
        await bot.restart()  # the request is stored, not remembered in memory
        await bot.advance(61)
        (delivered,) = await ask_for_heat(alice)
        assert delivered.media is not None
        alice.get_kicked(news)  # a kicked user's old request does not count
        await bot.advance(61)
        (gate,) = await ask_for_heat(alice)
        assert gate.text.startswith("🔒 Join first")


async def test_a_pending_request_does_not_count_in_member_mode(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri, mode="member") as (_, news, alice):
        await alice.request_join(news)
        (gate,) = await ask_for_heat(alice)
        assert gate.text.startswith("🔒 Join first")


async def test_banned_users_never_see_join_buttons(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri) as (bot, _news, alice):
        (results,) = await alice.send("heat")
        await bot.app.users.ban(alice.id, "spam", 1, bot.clock.now())
        pressed = await alice.click(results, "Heat")
        assert list(pressed) == []
        assert pressed.answer is not None
        assert pressed.answer.text is not None
        assert pressed.answer.text.startswith("You are banned")


async def test_inline_mode_asks_non_members_to_join_first(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri) as (_, news, alice):
        answer = await alice.inline("heat")
        assert answer.results == ()
        assert answer.switch_pm_parameter == "subscribe"
        assert answer.is_personal
        assert answer.cache_time == 0
        (gate,) = await alice.send(f"/start {answer.switch_pm_parameter}")
        assert gate.text.startswith("🔒 Join first")
        alice.join(news)
        (ok,) = await alice.click(gate, "Try again")
        assert ok.text.startswith("✅ You have joined every required channel.")
        member_answer = await alice.inline("heat")
        assert [r.title for r in member_answer.results] == ["Heat 1995 1080p"]
        assert member_answer.is_personal  # who asks matters here
        assert member_answer.cache_time <= 10


async def test_deep_links_from_groups_check_membership_too(mongo_uri: str) -> None:
    async with gated_bot(mongo_uri) as (bot, news, alice):
        club = bot.group("Club", members=[alice])
        (results,) = await club.send(alice, "heat")
        url = results.button("Heat").url
        assert url is not None
        (gate,) = await alice.open_link(url)
        assert gate.chat_id == alice.id
        assert gate.text.startswith("🔒 Join first")
        alice.join(news)
        done = await alice.click(gate, "Try again")
        assert done[-1].media is not None


async def test_a_channel_the_bot_cannot_check_lets_users_through_and_is_logged(
    mongo_uri: str,
) -> None:
    bot = BotHarness(database_uri=mongo_uri)
    news = bot.channel("Film News", bot_is_admin=False)  # the operator forgot to promote the bot
    bot.configure(AUTH_CHANNELS=news.id)
    async with bot:
        await bot.channel("Movies").post_video("Heat.1995.1080p.mkv")
        alice = bot.user(1001, "Alice")
        with capture_events() as logs:
            (delivered,) = await ask_for_heat(alice)
            assert delivered.media is not None  # not locked out by a misconfiguration
            (again,) = await ask_for_heat(alice)
            assert again.media is not None
        failures = [e for e in logs if e["event"] == "invite_link_failed"]
        assert len(failures) == 1  # retried after a minute, not on every delivery
        assert failures[0]["log_level"] == "error"
        assert failures[0]["telegram_id"] == "CHAT_ADMIN_REQUIRED"

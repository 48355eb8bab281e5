"""The update middleware: error boundary, rate limit, correlation ids, FloodWait surfacing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pyrogram import Client, filters
from pyrogram.handlers import MessageHandler
from pyrogram.types import Message

from core.logging import bound_context
from core.utils.errors import NotFoundError
from testkit import BotHarness, HarnessError
from tests.fakes import capture_events


def add_command(bot: BotHarness, name: str, callback: Any) -> None:
    """Register an extra command the way `register_handlers` does: through the middleware,
    and known (it stops there, so the "unknown command" answer of group 0 does not follow)."""
    wrapped = bot.running.middleware.wrap(callback)

    async def known(client: Client, message: Message) -> None:
        await wrapped(client, message)
        message.stop_propagation()

    bot.running.client.add_handler(MessageHandler(known, filters.command(name)), group=-1)


async def test_a_crashing_handler_answers_with_a_reference_and_the_bot_keeps_serving(
    bot: BotHarness,
) -> None:
    async def on_boom(_client: Client, _message: Message) -> None:
        raise ZeroDivisionError("secret internal detail")

    add_command(bot, "boom", on_boom)
    alice = bot.user(1001, "Alice")
    with capture_events() as logs, bot.expect_errors() as errors:
        (reply,) = await alice.send("/boom")
    assert reply.text.startswith("Something went wrong on our side.")
    assert "secret internal detail" not in reply.text
    event = next(e for e in logs if e["event"] == "unhandled_error")
    assert f"ref: {event['correlation_id']}" in reply.text
    assert event["log_level"] == "error"
    assert "ZeroDivisionError" in errors[0]
    (greeting,) = await alice.send("/start")  # still serving
    assert greeting.text.startswith("👋 Hi Alice!")


async def test_an_unexpected_exception_fails_the_test_through_the_harness(bot: BotHarness) -> None:
    async def on_bug(_client: Client, _message: Message) -> None:
        raise KeyError("bug")

    add_command(bot, "bug", on_bug)
    with pytest.raises(HarnessError, match="KeyError: 'bug'"):
        await bot.user(1001, "Alice").send("/bug")


async def test_app_errors_become_their_error_response(bot: BotHarness) -> None:
    async def on_missing(_client: Client, _message: Message) -> None:
        raise NotFoundError("file")

    add_command(bot, "missing", on_missing)
    with capture_events() as logs:
        (reply,) = await bot.user(1001, "Alice").send("/missing")
    assert reply.text.startswith("That was not found. It may have been removed.")
    refusal = next(e for e in logs if e["event"] == "handler_refused")
    assert refusal["code"] == "not_found"
    assert f"ref: {refusal['correlation_id']}" in reply.text


async def test_flooding_users_are_told_once_then_ignored_until_the_window_passes(
    mongo_uri: str,
) -> None:
    async with BotHarness(
        database_uri=mongo_uri, RATE_LIMIT_BURST="3", RATE_LIMIT_PER_MINUTE="6"
    ) as bot:
        alice = bot.user(1001, "Alice")
        for _ in range(3):
            assert len(await alice.send("/help")) == 1
        (warning,) = await alice.send("/help")
        assert warning.text.startswith("You are going too fast. Please wait a moment.")
        assert "Try again in 10 s." in warning.text
        assert "ref: " in warning.text
        assert list(await alice.send("/help")) == []  # ignored, no second warning
        assert list(await alice.send("/start")) == []
        await bot.advance(10)
        (served,) = await alice.send("/help")
        assert served.text.startswith("How to search")
        bob = bot.user(1002, "Bob")  # other users are unaffected throughout
        assert len(await bob.send("/help")) == 1


async def test_admins_are_never_rate_limited(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", RATE_LIMIT_BURST="1") as bot:
        admin = bot.user(1, "Admin")
        for _ in range(5):
            assert len(await admin.send("/help")) == 1


async def test_every_update_gets_its_own_correlation_id_and_nothing_leaks(bot: BotHarness) -> None:
    seen: list[dict[str, object]] = []

    async def on_probe(_client: Client, message: Message) -> None:
        seen.append(dict(bound_context()))
        await message.reply_text("ok")

    add_command(bot, "probe", on_probe)
    alice = bot.user(1001, "Alice")
    await alice.send("/probe")
    await alice.send("/probe")
    first, second = seen
    assert first["correlation_id"] != second["correlation_id"]
    assert first["user_id"] == 1001
    assert first["chat_id"] == 1001
    assert first["handler"] == "on_probe"
    assert bound_context() == {}


async def test_log_events_of_one_update_share_its_correlation_id(bot: BotHarness) -> None:
    async def on_two(_client: Client, message: Message) -> None:
        from core.logging import get_logger  # noqa: PLC0415

        get_logger("test").info("first_step")
        await message.reply_text("done")
        get_logger("test").info("second_step")

    add_command(bot, "two", on_two)
    with capture_events() as logs:
        await bot.user(1001, "Alice").send("/two")
        await bot.user(1002, "Bob").send("/two")
    ids = [(e["event"], e["correlation_id"], e["user_id"]) for e in logs if "step" in e["event"]]
    assert ids[0][1] == ids[1][1]
    assert ids[2][1] == ids[3][1]
    assert ids[0][1] != ids[2][1]
    assert [i[2] for i in ids] == [1001, 1001, 1002, 1002]


async def test_a_flood_wait_on_a_reply_is_told_to_the_user(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    bot.telegram.flood_wait("SendMessage", 42, chat_id=alice.id)
    with capture_events() as logs:
        (reply,) = await alice.send("/help")
    assert reply.text.startswith("You are going too fast. Please wait a moment.")
    assert "Try again in 42 s." in reply.text
    refused = next(e for e in logs if e["event"] == "telegram_refused")
    assert refused["telegram_id"] == "FLOOD_WAIT_X"


async def test_flood_wait_through_the_wrapper_waits_on_the_virtual_clock(bot: BotHarness) -> None:
    from core.telegram.api_wrapper import TelegramAPI  # noqa: PLC0415

    alice = bot.user(1001, "Alice")
    api = TelegramAPI(clock=bot.clock.monotonic, sleep=bot.clock.sleep)
    bot.telegram.flood_wait("SendMessage", 30, chat_id=alice.id)
    sending = asyncio.create_task(
        api.call(
            "send_message", alice.id, lambda: bot.app.client.send_message(alice.id, "broadcast")
        )
    )
    await bot.idle()
    assert not sending.done()  # waiting out the FloodWait, not crashing
    bot.clock.advance(34)  # 30 s plus at most 10% jitter
    result = await asyncio.wait_for(sending, 60)  # a condition: only a hang waits that long
    assert result.ok
    assert result.attempts == 2
    assert alice.chat[-1].text == "broadcast"
    assert api.stats.flood_waits == 1

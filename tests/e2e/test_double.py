"""The Telegram double's own contract: wire-faithful objects, loud failures, faults, limits."""

from __future__ import annotations

import asyncio

import pytest
from pyrogram import Client, filters, raw
from pyrogram.errors import (
    ChatWriteForbidden,
    FloodWait,
    InputUserDeactivated,
    InternalServerError,
    UserIsBlocked,
)
from pyrogram.file_id import FileId
from pyrogram.handlers import MessageHandler
from pyrogram.session import Session
from pyrogram.types import Message

from testkit import BotHarness, HarnessError, UnknownRPCError
from testkit.telegram import roundtrip


async def test_channel_ids_are_in_the_new_range(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    assert movies.id < -1002147483647


async def test_posted_media_have_file_ids_pyrogram_can_decode(bot: BotHarness) -> None:
    movies = bot.channel("Movies")
    post = await movies.post_document(
        "Dark.City.1998.720p.mkv", size=734_003_200, mime_type="video/x-matroska"
    )
    assert post.media is not None
    assert post.media.kind == "video"
    assert post.media.file_name == "Dark.City.1998.720p.mkv"
    decoded = FileId.decode(post.media.file_id)
    assert decoded.media_id in bot.telegram.documents
    again = bot.channel("Again")
    same = await again.post_document(
        "Dark.City.1998.720p.mkv", size=734_003_200, mime_type="video/x-matroska"
    )
    assert same.media is not None
    assert same.media.unique_id != post.media.unique_id  # another upload, another document


async def test_sending_cached_media_delivers_the_same_file(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    post = await bot.channel("Movies").post_audio("Song.mp3")
    assert post.media is not None
    sent = await bot.app.client.send_cached_media(alice.id, post.media.file_id, caption="<b>x</b>")
    assert sent.audio.file_unique_id == post.media.unique_id
    assert alice.chat[-1].media == post.media
    assert alice.chat[-1].html == "<b>x</b>"


async def test_round_trip_turns_missing_vectors_into_empty_lists() -> None:
    built = raw.types.Message(id=1, peer_id=raw.types.PeerUser(user_id=5), date=0, message="x")
    assert built.entities is None
    wired = roundtrip(built)
    assert wired.restriction_reason == []


def _get_dialogs() -> raw.functions.messages.GetDialogs:
    return raw.functions.messages.GetDialogs(
        offset_date=0, offset_id=0, offset_peer=raw.types.InputPeerEmpty(), limit=1, hash=0
    )


async def test_unknown_rpcs_raise_by_name(bot: BotHarness) -> None:
    with pytest.raises(UnknownRPCError, match=r"messages\.GetDialogs"):
        await bot.app.client.invoke(_get_dialogs())
    assert bot.telegram.unknown_rpcs == ["messages.GetDialogs"]
    bot.telegram.unknown_rpcs.clear()


async def test_a_handler_calling_an_unknown_rpc_fails_the_test(bot: BotHarness) -> None:
    async def on_dialogs(client: Client, _message: Message) -> None:
        await client.invoke(_get_dialogs())

    bot.app.client.add_handler(
        MessageHandler(bot.app.middleware.wrap(on_dialogs), filters.command("dialogs")), group=-1
    )
    with pytest.raises(HarnessError, match=r"messages\.GetDialogs"):
        await bot.user(1001, "Alice").send("/dialogs")


async def test_blocked_and_deactivated_users_raise_like_telegram(bot: BotHarness) -> None:
    alice, bob = bot.user(1001, "Alice"), bot.user(1002, "Bob")
    alice.block_bot()
    bob.deactivate()
    with pytest.raises(UserIsBlocked):
        await bot.app.client.send_message(alice.id, "hi")
    with pytest.raises(InputUserDeactivated):
        await bot.app.client.send_message(bob.id, "hi")


async def test_faults_hit_the_next_k_calls_of_a_method(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    bot.telegram.fail("SendMessage", error=ChatWriteForbidden(), times=2)
    for _ in range(2):
        with pytest.raises(ChatWriteForbidden):
            await bot.app.client.send_message(alice.id, "hi")
    await bot.app.client.send_message(alice.id, "third time")
    assert alice.chat[-1].text == "third time"


async def test_the_session_retries_transient_errors_like_pyrogram(bot: BotHarness) -> None:
    """Pyrogram's session sends a request again after a timeout, a broken connection or an
    internal server error (`Session.RETRY_DELAY` apart) and gives up after `MAX_RETRIES`."""
    alice = bot.user(1001, "Alice")
    client = bot.running.client
    bot.telegram.fail("SendMessage", error=TimeoutError(), times=2)
    sending = asyncio.create_task(client.send_message(alice.id, "hi"))
    for _ in range(2):
        due = await bot.clock.asleep(sending)  # waiting to send again
        assert due - bot.clock.monotonic() == Session.RETRY_DELAY
        bot.clock.advance(Session.RETRY_DELAY)
    assert (await sending).text == "hi"
    bot.telegram.fail("SendMessage", error=InternalServerError(), times=Session.MAX_RETRIES)
    sending = asyncio.create_task(client.send_message(alice.id, "lost"))
    for _ in range(Session.MAX_RETRIES):
        await bot.clock.asleep(sending)
        bot.clock.advance(Session.RETRY_DELAY)
    with pytest.raises(TimeoutError):
        await sending
    assert alice.chat[-1].text == "hi"


async def test_rate_enforcement_raises_flood_wait_per_chat(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    group = bot.group("Club", members=[alice])
    bot.telegram.enforce_rate_limits = True
    client = bot.running.client
    client.sleep_threshold = 0  # every FloodWait reaches the caller
    await client.send_message(alice.id, "one")
    with pytest.raises(FloodWait) as caught:
        await client.send_message(alice.id, "two")
    assert caught.value.value == 1
    bot.clock.advance(1)
    await client.send_message(alice.id, "two")
    for i in range(20):
        await client.send_message(group.id, f"g{i}")
    with pytest.raises(FloodWait):
        await client.send_message(group.id, "one too many")


async def test_short_flood_waits_are_slept_through_like_pyrogram(bot: BotHarness) -> None:
    """Under `sleep_threshold` (10 s) the client waits on the virtual clock and retries."""
    alice = bot.user(1001, "Alice")
    bot.telegram.enforce_rate_limits = True
    client = bot.running.client
    await client.send_message(alice.id, "one")
    second = asyncio.create_task(client.send_message(alice.id, "two"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not second.done()  # waiting for the FloodWait to pass
    bot.clock.advance(1)
    sent = await second
    assert sent.text == "two"
    assert bot.telegram.slept_through == [1.0]
    bot.telegram.flood_wait("SendMessage", 42)
    with pytest.raises(FloodWait) as caught:
        await client.send_message(alice.id, "three")
    assert caught.value.value == 42  # longer than the threshold: the caller decides


async def test_group_messages_reach_the_bot_with_the_sender(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    club = bot.group("Film club", members=[alice])
    replies = await club.send(alice, "/help")
    assert replies[0].chat_id == club.id
    assert replies[0].text.startswith("How to search")

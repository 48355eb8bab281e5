"""Reading a channel's posts for `/index` (`core.telegram.channels.PyrogramChannels.read`): the
raw answer is read directly, and must give exactly what Pyrogram's parsed messages give
(`incoming_file`), for every kind of post a channel can hold, in one request per batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest
from pyrogram import raw
from pyrogram.errors import InternalServerError
from pyrogram.session import Session

from core.models import Post
from core.telegram.channels import PyrogramChannels, incoming_file
from core.utils.errors import FloodWaitError, TelegramError
from testkit import BotHarness

T = TypeVar("T")


@pytest.fixture
async def bot(mongo_uri: str) -> AsyncIterator[BotHarness]:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", ACCURATE_METADATA="false") as harness:
        yield harness


def _document(doc_id: int, mime: str, *attributes: Any, size: int = 7_000_000) -> Any:
    return raw.types.MessageMediaDocument(
        document=raw.types.Document(
            id=doc_id,
            access_hash=doc_id * 7,
            file_reference=b"\x02ref" + bytes([doc_id % 256]),
            date=1_700_000_000,
            mime_type=mime,
            size=size,
            dc_id=4,
            attributes=list(attributes),
        )
    )


def _name(name: str) -> Any:
    return raw.types.DocumentAttributeFilename(file_name=name)


def _video(*, round_message: bool = False) -> Any:
    return raw.types.DocumentAttributeVideo(
        duration=60, w=640, h=360, round_message=round_message or None
    )


def _audio(*, voice: bool = False) -> Any:
    return raw.types.DocumentAttributeAudio(duration=180, voice=voice or None, title="Song")


KINDS: list[tuple[str, Any, str]] = [
    ("document", _document(11, "application/pdf", _name("Manual.2020.pdf")), "a caption"),
    ("video", _document(12, "video/x-matroska", _name("Film.2019.720p.mkv"), _video()), ""),
    ("video without a name", _document(13, "video/mp4", _video()), "Nameless Film 2018\nmore"),
    ("audio", _document(14, "audio/mpeg", _name("Song.mp3"), _audio()), ""),
    ("audio without a name", _document(15, "audio/mpeg", _audio()), "Track"),
    ("voice", _document(16, "audio/ogg", _audio(voice=True)), ""),
    ("animation", _document(17, "video/mp4", _video(), raw.types.DocumentAttributeAnimated()), ""),
    ("video note", _document(18, "video/mp4", _video(round_message=True)), ""),
    ("name last wins", _document(19, "text/plain", _name("a.txt"), _name("b.txt")), ""),
    ("empty document", raw.types.MessageMediaDocument(document=raw.types.DocumentEmpty(id=5)), ""),
    ("photo", raw.types.MessageMediaPhoto(photo=raw.types.PhotoEmpty(id=6)), "a photo"),
    ("text", None, "just words"),
]


async def _history(bot: BotHarness) -> tuple[int, list[int]]:
    channel = bot.channel("Archive")
    ids = []
    for _, media, caption in KINDS:
        stored = await bot.telegram.channel_history(channel.state, None, caption, media=media)
        ids.append(stored.id)
    reply = await bot.telegram.channel_history(
        channel.state,
        None,
        "a reply",
        media=_document(20, "application/zip", _name("Pack.zip")),
        reply_to=raw.types.MessageReplyHeader(reply_to_msg_id=ids[0]),
    )
    ids.append(reply.id)
    await channel.delete_posts(await channel.post_history(text="gone"), seen=False)
    return channel.id, [*ids, reply.id + 1, reply.id + 50]  # deleted, never used


async def test_raw_posts_read_as_pyrogram_parses_them_in_one_request(bot: BotHarness) -> None:
    chat_id, ids = await _history(bot)
    client = bot.app.client
    slow = await client.get_messages(chat_id, ids)
    expected = [
        Post(id=i, file=incoming_file(m)) if m is not None and not m.empty else Post(i, None, False)
        for i, m in zip(ids, slow, strict=True)
    ]
    calls = len(bot.telegram.rpc_log)
    posts = await PyrogramChannels(client).read(chat_id, ids)
    assert bot.telegram.rpc_log[calls:] == ["channels.GetMessages"]  # no request per reply
    assert posts == expected
    files = {kind: post.file for (kind, _, _), post in zip(KINDS, posts, strict=False)}
    assert files["document"] is not None
    assert files["document"].file_name == "Manual.2020.pdf"
    assert files["document"].caption == "a caption"
    # Pyrogram names a nameless video after the moment it parsed it; the index does not.
    assert files["video without a name"] is not None
    assert files["video without a name"].file_name is None
    assert files["name last wins"] is not None
    assert files["name last wins"].file_name == "b.txt"
    for kind in ("voice", "animation", "video note", "empty document", "photo", "text"):
        assert files[kind] is None, kind
    assert [p.exists for p in posts[-3:]] == [True, False, False]
    assert posts[-3].file is not None
    assert posts[-3].file.file_name == "Pack.zip"


async def test_a_nameless_video_is_indexed_under_its_caption(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    chat_id, ids = await _history(bot)
    offer = (await admin.send(f"/index {chat_id} 1 {ids[-3]}"))[-1]
    progress = (await admin.click(offer, "Start"))[-1]
    assert "State: ✅ done" in progress.text, progress.text
    page = await bot.app.services.search.search("nameless film")
    assert [f.file_name for f in page.items] == ["Nameless Film 2018"]


async def _on_the_clock(bot: BotHarness, work: Awaitable[T]) -> T:
    """Await `work` while moving the double's clock to each of its sleeps as it makes them."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.sleep(0.01)
        deadline = bot.clock.next_deadline(tasks=[task])
        if deadline is not None:
            bot.clock.advance(deadline - bot.clock.monotonic())
    return await task


async def test_floods_reach_the_job_only_above_the_clients_threshold(bot: BotHarness) -> None:
    chat_id, ids = await _history(bot)
    channels = PyrogramChannels(bot.app.client)
    bot.telegram.flood_wait("GetMessages", 5)  # slept through by the session
    started = bot.clock.monotonic()
    assert len(await _on_the_clock(bot, channels.read(chat_id, ids))) == len(ids)
    assert bot.clock.monotonic() - started == 5
    assert bot.telegram.slept_through[-1] == 5
    bot.telegram.flood_wait("GetMessages", 37)
    with pytest.raises(FloodWaitError) as caught:
        await channels.read(chat_id, ids)
    assert caught.value.retry_after == 37
    # Pyrogram's own get_messages sleeps through a FloodWait of any length (its threshold is
    # -1), so a job reading through it could never show, log or count a long wait.
    bot.telegram.flood_wait("GetMessages", 37)
    waiting = asyncio.create_task(bot.app.client.get_messages(chat_id, ids[:1]))
    assert await bot.clock.asleep(waiting) - bot.clock.monotonic() == 37  # sleeping through it
    await bot.advance(37)
    assert (await waiting)[0].id == ids[0]
    assert bot.telegram.slept_through[-1] == 37


async def test_the_session_gives_up_after_its_retries(bot: BotHarness) -> None:
    chat_id, ids = await _history(bot)
    channels = PyrogramChannels(bot.app.client)
    bot.telegram.fail("GetMessages", error=InternalServerError(), times=Session.MAX_RETRIES - 1)
    read = _on_the_clock(bot, channels.read(chat_id, ids))
    assert len(await read) == len(ids)  # retried by the session, a second apart
    bot.telegram.fail("GetMessages", error=InternalServerError(), times=Session.MAX_RETRIES)
    with pytest.raises(TelegramError) as caught:
        await _on_the_clock(bot, channels.read(chat_id, ids))
    assert caught.value.telegram_id == "TIMEOUT"

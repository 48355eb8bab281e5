"""HTML-special characters, emoji and non-Latin scripts survive every text the bot builds.

Checked on what the double receives: Telegram's own view of a message is its text plus entities
(offsets in UTF-16 code units), so a name must come back character for character, and bold must
cover exactly the name.
"""

from __future__ import annotations

import pytest
from pyrogram import raw

from core.utils.validators import MAX_CAPTION, utf16_length
from testkit import BotHarness, BotMessage

NAMES = [
    'Tom & Jerry <Classic> "Best Of" \'99.mkv',
    "Amélie 2001 🎬🍿 Français.mkv",
    "Брат 1997 Русский.mkv",
    "千と千尋の神隠し Spirited Away 2001.mkv",
    "الرسالة The Message 1976.mkv",
    "Family 👨‍👩‍👧‍👦 Reunion 2019.mkv",
]


def entities(message: BotMessage, bot: BotHarness) -> list[object]:
    stored = bot.telegram.messages[message.chat_id][message.id]
    return list(stored.raw.entities or [])


def utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le")


@pytest.mark.parametrize("name", NAMES)
async def test_names_come_back_exactly_in_buttons_captions_and_entities(
    bot: BotHarness, name: str
) -> None:
    await bot.channel("Movies").post_document(name, size=52_428_800, mime_type="video/x-matroska")
    alice = bot.user(1001, "Alice")
    word = name.split(maxsplit=1)[0]
    (results,) = await alice.send(word)
    stem = name.rsplit(".", 1)[0]
    (button,) = [b for b in results.all_buttons if b.text.startswith("[50 MB]")]
    assert button.text == f"[50 MB] {stem}"
    (delivered,) = await alice.click(results, button)
    assert delivered.text == f"{name}\n50 MB"
    (bold,) = [e for e in entities(delivered, bot) if isinstance(e, raw.types.MessageEntityBold)]
    assert utf16_slice(delivered.text, bold.offset, bold.length) == name


async def test_the_query_is_echoed_literally(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    (reply,) = await alice.send('<b>tom</b> & "jerry"')
    assert reply.text.startswith('No files match <b>tom</b> & "jerry".')
    bold = [e for e in entities(reply, bot) if isinstance(e, raw.types.MessageEntityBold)]
    assert [utf16_slice(reply.text, e.offset, e.length) for e in bold] == ['<b>tom</b> & "jerry"']


async def test_long_names_are_truncated_on_buttons_and_captions_fit(mongo_uri: str) -> None:
    long_name = "Ω<&> " * 15 + "Épisode 🎞️ final.mkv"
    huge_caption = "«Très long» <description> & more 🧵 " * 60
    async with BotHarness(
        database_uri=mongo_uri, CUSTOM_FILE_CAPTION="{file_name}\n{file_size}\n{caption}"
    ) as bot:
        await bot.channel("Movies").post_document(
            long_name, size=1_000, mime_type="video/mp4", caption=huge_caption
        )
        alice = bot.user(1001, "Alice")
        (results,) = await alice.send("episode final")
        (button,) = [b for b in results.all_buttons if b.data and "|f|" in b.data]
        assert len(button.text) <= 60
        assert button.text.endswith("…")
        assert button.text.startswith("[1000 B] Ω<&> Ω<&>")
        assert all(len(b.data.encode()) <= 64 for b in results.all_buttons if b.data)
        (delivered,) = await alice.click(results, button)
        assert utf16_length(delivered.text) <= MAX_CAPTION
        assert delivered.text.startswith(long_name)  # the name is kept, the caption shortened
        assert delivered.text.endswith("…")
        answer = await alice.inline("episode")
        (result,) = answer.results
        assert result.caption is not None
        assert utf16_length(result.caption) <= MAX_CAPTION
        assert result.title is not None
        assert len(result.title) <= 120


async def test_group_and_join_texts_escape_channel_titles(mongo_uri: str) -> None:
    bot = BotHarness(database_uri=mongo_uri)
    news = bot.channel('News <&> "Ünïcode" 📰')
    bot.configure(AUTH_CHANNELS=news.id)
    async with bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        (results,) = await alice.send("heat")
        (gate,) = await alice.click(results, "Heat")
        assert gate.button("Join").text == '📢 Join News <&> "Ünïcode" 📰'
        assert gate.text.startswith("🔒 Join first\n")

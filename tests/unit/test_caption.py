"""Delivered captions: the template, escaped values, and Telegram's 1,024-character limit."""

from __future__ import annotations

from datetime import UTC, datetime

from pyrogram.parser.html import HTML

from core.models import FileRecord
from core.utils.validators import utf16_length
from handlers.views import human_size, render_caption


def record(name: str, caption: str | None = None, size: int = 734_003_200) -> FileRecord:
    return FileRecord(
        id="u1",
        file_id="f1",
        file_name=name,
        file_size=size,
        mime_type="video/mp4",
        file_type="video",
        caption=caption,
        chat_id=-100,
        message_id=1,
        terms=(),
        title="",
        title_terms=(),
        indexed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def shown(markup: str) -> str:
    """What Telegram shows: the text Pyrogram's own HTML parser extracts from the markup."""
    parsed = await HTML(None).parse(markup)
    return str(parsed["message"])


async def test_values_are_shown_exactly_and_the_template_is_kept() -> None:
    rendered = render_caption(
        "<b>{file_name}</b> [{file_size}]\n{caption}", record("Tom & Jerry <1>.mkv", "a<b")
    )
    assert await shown(rendered) == "Tom & Jerry <1>.mkv [700 MB]\na<b"
    assert rendered.startswith("<b>")  # the template's own markup stays markup


async def test_text_that_looks_like_an_entity_is_not_decoded() -> None:
    name = "Tom &amp; Jerry &lt;3 &#0; R&D &copy 2020.mkv"
    rendered = render_caption("{file_name}\n{caption}", record(name, "&amp;&lt;&gt;"))
    assert await shown(rendered) == name + "\n&amp;&lt;&gt;"


def test_long_captions_are_shortened_first_then_names() -> None:
    long_caption = "🎬" * 900  # 1,800 UTF-16 units
    rendered = render_caption("{file_name}\n{caption}", record("Dark.City.mkv", long_caption))
    visible = rendered
    assert rendered.startswith("Dark.City.mkv\n🎬")
    assert rendered.endswith("…")
    assert utf16_length(visible) <= 1024
    huge_name = "x" * 2000 + ".mkv"
    shortened = render_caption("{file_name}", record(huge_name))
    assert utf16_length(shortened) <= 1024
    assert shortened.endswith("…")


def test_human_sizes() -> None:
    assert [human_size(n) for n in (512, 2048, 734_003_200, 2_254_857_830)] == [
        "512 B",
        "2 KB",
        "700 MB",
        "2.1 GB",
    ]

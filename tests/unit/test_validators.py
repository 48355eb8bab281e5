"""Validators: user mistakes come back as values with a field and a message, never as exceptions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.utils.validators import FileKind, Validators, utf16_length

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("value", [1, "42", 777000, (1 << 40) - 1])
def test_user_ids_in_range_are_accepted(value: object) -> None:
    result = Validators.user_id(value)
    assert result.ok
    assert result.value == int(str(value))


@pytest.mark.parametrize("value", [0, -5, 1 << 40, "abc", None, True, 1.5, "1e5"])
def test_bad_user_ids_are_rejected_with_the_field_named(value: object) -> None:
    result = Validators.user_id(value)
    assert not result.ok
    assert result.errors[0].field == "user_id"


@pytest.mark.parametrize(
    "value",
    [
        5_000_000,  # a user
        -123456789,  # a basic group
        -1001234567890,  # an old channel
        -1002147483648,  # first id past the old channel range
        -1002999999999,  # a new channel
        "-1003456789012",
    ],
)
def test_chat_ids_in_every_current_range(value: object) -> None:
    assert Validators.chat_id(value).ok


@pytest.mark.parametrize("value", [0, -1000000000000, -9000000000000, "x"])
def test_impossible_chat_ids(value: object) -> None:
    assert not Validators.chat_id(value).ok


def test_channel_ids_must_be_channels() -> None:
    assert Validators.channel_id(-1002999999999).ok
    assert not Validators.channel_id(-123456).ok
    assert not Validators.channel_id(42).ok


def test_pagination_bounds() -> None:
    page = Validators.pagination(3, 10)
    assert page.ok
    assert page.value is not None
    assert page.value.offset == 20
    assert Validators.pagination("2", "50").ok
    assert Validators.pagination(1, 51).errors[0].field == "page_size"
    assert Validators.pagination(1, 0).errors[0].field == "page_size"
    assert Validators.pagination(0, 10).errors[0].field == "page"
    assert Validators.pagination(101, 10).errors[0].field == "page"  # offset 1000: past the bound
    assert Validators.pagination(100, 10).ok


@pytest.mark.parametrize(
    ("mime", "name", "kind"),
    [
        ("video/x-matroska", "Dark.City.1998.720p.mkv", FileKind.VIDEO),
        (None, "song.FLAC", FileKind.AUDIO),
        ("application/octet-stream", "book.epub", FileKind.DOCUMENT),
        ("video/mp4", None, FileKind.VIDEO),
        ("audio/mpeg; charset=binary", "", FileKind.AUDIO),
        ("application/pdf", "scan", FileKind.DOCUMENT),
    ],
)
def test_file_types_by_extension_then_mime(mime: str | None, name: str | None, kind: str) -> None:
    assert Validators.file_type(mime, name).value == kind


def test_files_outside_the_allow_list_are_refused() -> None:
    result = Validators.file_type("application/x-sharedlib", "libc.so")
    assert not result.ok
    assert result.errors[0].field == "file_type"


def test_search_queries_are_trimmed_and_collapsed() -> None:
    assert Validators.search_query("  dark \n\t city  ").value == "dark city"


@pytest.mark.parametrize("text", ["[1080p", "(a|b)*", "c++ \\d+ $^", "a.*b?", "{1,2}"])
def test_regex_metacharacters_are_accepted_verbatim(text: str) -> None:
    result = Validators.search_query(text)
    assert result.ok
    assert result.value == text


def test_queries_with_control_characters_or_bad_lengths_are_refused() -> None:
    assert (
        Validators.search_query("dark\x00city").errors[0].message == "contains control characters"
    )
    assert not Validators.search_query("a").ok
    assert not Validators.search_query("x" * 201).ok
    assert not Validators.search_query(None).ok


@given(st.text())
def test_any_text_gives_a_result_not_an_exception(text: str) -> None:
    result = Validators.search_query(text)
    assert result.ok == (result.value is not None)


def test_callback_data_round_trips_within_64_bytes() -> None:
    data = Validators.encode_callback("page", "k3Xa9", 12, secret=SECRET)
    assert len(data.encode()) <= 64
    parsed = Validators.callback_data(data, secret=SECRET)
    assert parsed.ok
    assert parsed.value is not None
    assert (parsed.value.action, parsed.value.fields) == ("page", ("k3Xa9", "12"))


def test_forged_callback_data_is_detected() -> None:
    data = Validators.encode_callback("file", "abc", secret=SECRET)
    forged = data.replace("abc", "abd")
    result = Validators.callback_data(forged, secret=SECRET)
    assert not result.ok
    assert result.message == "failed its integrity check"
    assert not Validators.callback_data(data, secret=b"another bot's secret").ok


def test_stale_or_garbage_callback_data_gets_a_clear_answer() -> None:
    assert Validators.callback_data("next_2_dark", secret=SECRET).message.startswith(
        "is from an older version"
    )
    assert not Validators.callback_data("x" * 65, secret=SECRET).ok
    assert not Validators.callback_data(None, secret=SECRET).ok


def test_encoding_oversized_or_unsafe_callback_data_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="over 64"):
        Validators.encode_callback("page", "x" * 60, secret=SECRET)
    with pytest.raises(ValueError, match="url-safe"):
        Validators.encode_callback("page", "a|b", secret=SECRET)


def test_deep_link_payloads() -> None:
    assert Validators.deep_link_payload("file_AbC-123").ok
    assert not Validators.deep_link_payload("has space").ok
    assert not Validators.deep_link_payload("x" * 65).ok
    assert not Validators.deep_link_payload("").ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("1y", timedelta(days=365)),
        ("2w", timedelta(days=14)),
        ("45m", timedelta(minutes=45)),
        ("1d 12h", timedelta(days=1, hours=12)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert Validators.duration(text).value == expected


@pytest.mark.parametrize("text", ["", "30", "d30", "0d", "11y", "3x", "1d-2h", "forever"])
def test_bad_durations(text: str) -> None:
    assert not Validators.duration(text).ok


def test_message_and_caption_limits_count_like_telegram() -> None:
    assert utf16_length("😀") == 2
    assert Validators.message_text("a" * 4096).ok
    assert not Validators.message_text("a" * 4097).ok
    assert not Validators.message_text("😀" * 2049).ok  # 4098 UTF-16 units
    assert not Validators.message_text("   ").ok
    assert Validators.caption("b" * 1024).ok
    assert not Validators.caption("b" * 1025).ok


@pytest.mark.parametrize(
    ("raw", "page"),
    [
        ("1", 1),
        ("2", 2),
        ("17", 17),
        ("", 1),
        ("0", 1),
        ("-3", 1),
        (" 5", 1),
        ("5\n", 1),
        ("²", 1),
        ("①", 1),
        ("¹²", 1),
        ("٣", 1),  # Arabic-Indic digit: `str.isdigit()` accepts it, `int()` too
        ("1e3", 1),
        ("9" * 40, 1),
        (True, 1),
        (None, 1),
    ],
)
def test_page_numbers_are_plain_ascii_digits_or_page_one(raw: object, page: int) -> None:
    assert Validators.page_number(raw) == page


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://t.me/mychannel/25000", ("@mychannel", 25000)),
        ("t.me/MyChannel/7/", ("@MyChannel", 7)),
        ("https://t.me/c/1234567890/42", (-1001234567890, 42)),
        ("https://t.me/c/1234567890/3/42", (-1001234567890, 42)),  # a topic's post
        ("https://telegram.me/mychannel/9?single", ("@mychannel", 9)),
    ],
)
def test_post_links(link: str, expected: tuple[int | str, int]) -> None:
    assert Validators.post_link(link).value == expected


@pytest.mark.parametrize(
    "link", ["https://t.me/mychannel", "https://t.me/c/abc/1", "https://example.com/a/1", "", 5]
)
def test_not_post_links(link: object) -> None:
    assert not Validators.post_link(link).ok


def test_channel_refs() -> None:
    assert Validators.channel_ref("@movies").value == "@movies"
    assert Validators.channel_ref("movies").value == "@movies"
    assert Validators.channel_ref("-1001234567890").value == -1001234567890
    assert Validators.channel_ref("https://t.me/c/1234567890/5").value == -1001234567890
    for bad in ("hello!", "-42", "@ab", None):
        assert not Validators.channel_ref(bad).ok

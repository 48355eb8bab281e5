"""Logging: one chain for structlog and stdlib records, JSON lines, secrets redacted."""

from __future__ import annotations

import io
import json
import logging

import structlog

from core.logging import bind_context, bound_context, configure_logging, get_logger, unbind_context

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
API_HASH = "0123456789abcdef0123456789abcdef"
URI = "mongodb+srv://botuser:Sup3rS3cret@cluster0.example.mongodb.net/files"


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_mode_emits_one_parseable_line_per_event() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", json=True, stream=out)
    get_logger("test").info("bot_started", username="filebot")
    logging.getLogger("pyrogram.session").warning("session %s started", "abc")
    first, second = _json_lines(out)
    assert first["event"] == "bot_started"
    assert first["username"] == "filebot"
    assert first["level"] == "info"
    assert "timestamp" in first
    assert second["event"] == "session abc started"
    assert second["logger"] == "pyrogram.session"
    assert second["level"] == "warning"


def test_structlog_events_are_redacted() -> None:
    out = io.StringIO()
    configure_logging(json=True, secrets=[TOKEN, API_HASH], stream=out)
    get_logger("test").info(
        "connecting",
        token=TOKEN,
        url=f"https://api.telegram.org/bot{TOKEN}/getMe",
        nested={"hash": API_HASH, "uris": [URI]},
    )
    text = out.getvalue()
    for secret in (TOKEN, API_HASH, "Sup3rS3cret"):
        assert secret not in text
    (event,) = _json_lines(out)
    assert event["token"] == "***"
    assert event["nested"] == {
        "hash": "***",
        "uris": ["mongodb+srv://botuser:***@cluster0.example.mongodb.net/files"],
    }


def test_stdlib_records_from_libraries_are_redacted() -> None:
    out = io.StringIO()
    configure_logging(json=True, secrets=[API_HASH], stream=out)
    logging.getLogger("pymongo.topology").warning("cannot reach %s", URI)
    logging.getLogger("pyrogram.client").warning("auth %s with %s", TOKEN, API_HASH)
    text = out.getvalue()
    for secret in (TOKEN, API_HASH, "Sup3rS3cret"):
        assert secret not in text
    assert "botuser:***@cluster0" in text


def test_a_token_is_redacted_even_when_never_registered() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    get_logger("test").error("oops", detail=f"bad token {TOKEN} rejected")
    assert TOKEN not in out.getvalue()


def test_tracebacks_are_redacted() -> None:
    out = io.StringIO()
    configure_logging(json=True, secrets=[API_HASH], stream=out)
    try:
        raise RuntimeError(f"login failed for {API_HASH}")  # noqa: TRY301
    except RuntimeError:
        get_logger("test").exception("login_failed")
        logging.getLogger("pyrogram").exception("stdlib login failed")
    text = out.getvalue()
    assert API_HASH not in text
    assert text.count("RuntimeError") >= 2


def test_console_mode_is_human_readable_and_redacted() -> None:
    out = io.StringIO()
    configure_logging(json=False, secrets=[API_HASH], stream=out)
    get_logger("test").info("hello", api_hash=API_HASH)
    line = out.getvalue()
    assert "hello" in line
    assert API_HASH not in line
    assert not line.startswith("{")


def test_context_variables_are_included_in_every_event() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    structlog.contextvars.bind_contextvars(correlation_id="7f3a2c1d", user_id=42)
    get_logger("test").info("handled")
    logging.getLogger("pyrogram").warning("library line")
    for event in _json_lines(out):
        assert event["correlation_id"] == "7f3a2c1d"
        assert event["user_id"] == 42


def test_an_update_binding_reaches_every_line_and_ends_with_the_update() -> None:
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    outer = bind_context({"correlation_id": "7f3a2c1d", "user_id": 42, "chat_id": 42})
    inner = bind_context({"handler": "on_start", "chat_id": -100})
    get_logger("test").info("inner", user_id=7)  # what the event says wins
    logging.getLogger("pyrogram").warning("library line")
    unbind_context(inner)
    get_logger("test").info("outer")
    unbind_context(outer)
    get_logger("test").info("after")
    inner_line, library, outer_line, after = _json_lines(out)
    assert inner_line["correlation_id"] == "7f3a2c1d"
    assert (inner_line["user_id"], inner_line["chat_id"], inner_line["handler"]) == (
        7,
        -100,
        "on_start",
    )
    assert (library["user_id"], library["handler"]) == (42, "on_start")
    assert (outer_line["chat_id"], "handler" in outer_line) == (42, False)
    assert "correlation_id" not in after
    assert bound_context() == {}


def test_level_filters_debug_events() -> None:
    out = io.StringIO()
    configure_logging(level="INFO", json=True, stream=out)
    get_logger("test").debug("noise")
    get_logger("test").info("signal")
    assert [e["event"] for e in _json_lines(out)] == ["signal"]

"""ErrorResponse, ErrorFactory and correlation ids as a user and an operator see them."""

from __future__ import annotations

import asyncio
import json
import re

from pyrogram.errors import (
    ChatWriteForbidden,
    FloodWait,
    InputUserDeactivated,
    PeerIdInvalid,
    UserIsBlocked,
)

from core.logging import bound_context
from core.telegram.errors import as_app_error, error_response
from core.utils.errors import (
    BannedError,
    ErrorCode,
    ErrorFactory,
    ErrorResponse,
    FloodWaitError,
    NotFoundError,
    RateLimitedError,
    SearchUnavailableError,
    StorageError,
    SuccessResponse,
    TelegramError,
    ValidationError,
    bind_update_context,
    current_correlation_id,
    new_correlation_id,
)


def test_correlation_ids_are_short_hex_and_unique() -> None:
    ids = {new_correlation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)


def test_update_context_is_bound_then_cleared() -> None:
    with bind_update_context(user_id=42, chat_id=-100, update_id=None) as cid:
        assert current_correlation_id() == cid
        bound = bound_context()
        assert bound == {"correlation_id": cid, "user_id": 42, "chat_id": -100}
    assert current_correlation_id() is None
    assert bound_context() == {}


def test_bindings_are_undone_even_when_the_handler_fails() -> None:
    try:
        with bind_update_context(user_id=1):
            raise RuntimeError("handler failed")  # noqa: TRY301
    except RuntimeError:
        pass
    assert bound_context() == {}


def test_a_new_update_replaces_the_previous_ids() -> None:
    with bind_update_context(user_id=1, chat_id=5) as first:
        pass
    with bind_update_context(user_id=2) as second:
        bound = bound_context()
    assert bound == {"correlation_id": second, "user_id": 2}
    assert first != second


async def test_concurrent_updates_keep_their_own_ids() -> None:
    seen: dict[int, tuple[str, str | None]] = {}

    async def handle(user_id: int) -> None:
        with bind_update_context(user_id=user_id) as cid:
            await asyncio.sleep(0)
            seen[user_id] = (cid, current_correlation_id())

    await asyncio.gather(*(handle(i) for i in range(5)))
    assert all(cid == current for cid, current in seen.values())
    assert len({cid for cid, _ in seen.values()}) == 5


def test_telegram_rendering_escapes_and_ends_with_the_reference() -> None:
    response = ErrorFactory.create(
        ErrorCode.VALIDATION, "Bad <query> & co", correlation_id="7f3a2c1d"
    )
    assert response.to_telegram() == "Bad &lt;query&gt; &amp; co\n<i>ref: 7f3a2c1d</i>"


def test_retry_after_is_shown_to_the_user() -> None:
    response = ErrorFactory.from_exception(RateLimitedError(12.4), correlation_id="abcd1234")
    assert response.code is ErrorCode.RATE_LIMITED
    assert response.retry_after == 12.4
    assert "Try again in 12 s." in response.to_telegram()


def test_to_dict_is_json_ready() -> None:
    response = ErrorFactory.from_exception(ValidationError("page"), correlation_id="c0ffee00")
    data = json.loads(json.dumps(response.to_dict()))
    assert data["ok"] is False
    assert data["code"] == "validation"
    assert data["details"] == {"field": "page"}
    assert data["correlation_id"] == "c0ffee00"
    assert "timestamp" in data


def test_success_response_has_the_same_shape() -> None:
    ok = SuccessResponse("Done <3", correlation_id="c0ffee00", data={"n": 2})
    assert ok.to_dict()["ok"] is True
    assert ok.to_telegram() == "Done &lt;3"


def test_responses_are_values() -> None:
    response = ErrorFactory.create(ErrorCode.INTERNAL, correlation_id="x")
    assert not isinstance(response, BaseException)
    assert hash(response.reference)


def test_project_errors_map_to_their_codes() -> None:
    cases = {
        ErrorCode.VALIDATION: ValidationError("query"),
        ErrorCode.NOT_FOUND: NotFoundError("file"),
        ErrorCode.BANNED: BannedError("spam"),
        ErrorCode.STORAGE: StorageError("users.get"),
        ErrorCode.FLOOD_WAIT: FloodWaitError(700, "send_message"),
        ErrorCode.SEARCH_UNAVAILABLE: SearchUnavailableError(1200),
    }
    for code, exc in cases.items():
        assert ErrorFactory.from_exception(exc).code is code


def test_a_search_during_a_rebuild_says_so_with_a_reference() -> None:
    response = ErrorFactory.from_exception(SearchUnavailableError(1200), correlation_id="c0ffee01")
    text = response.to_telegram()
    assert "being rebuilt" in text
    assert "c0ffee01" in text


def test_pyrogram_flood_wait_reads_value_never_x() -> None:
    response = error_response(FloodWait(value=37))
    assert response.code is ErrorCode.RATE_LIMITED
    assert response.retry_after == 37.0


def test_terminal_telegram_errors_get_stable_codes_at_the_telegram_edge() -> None:
    """Raw Telegram errors are mapped by the edge's table (`core/telegram/errors.py`), not by
    the kernel's `ErrorFactory`, which knows only the bot's own errors."""
    assert error_response(UserIsBlocked()).code is ErrorCode.TELEGRAM_USER_BLOCKED
    assert error_response(InputUserDeactivated()).code is ErrorCode.TELEGRAM_USER_DEACTIVATED
    assert error_response(PeerIdInvalid()).code is ErrorCode.TELEGRAM_PEER_INVALID
    assert error_response(ChatWriteForbidden()).code is ErrorCode.TELEGRAM_WRITE_FORBIDDEN
    assert error_response(UserIsBlocked()).details == {
        "telegram_id": "USER_IS_BLOCKED",
        "method": "",
    }
    translated = as_app_error(UserIsBlocked())
    assert isinstance(translated, TelegramError)
    assert translated.specific_code is ErrorCode.TELEGRAM_USER_BLOCKED
    assert ErrorFactory.from_exception(translated).code is ErrorCode.TELEGRAM_USER_BLOCKED


def test_unknown_exceptions_never_show_their_text() -> None:
    response = ErrorFactory.from_exception(KeyError("secret_internal_table_name"))
    assert response.code is ErrorCode.INTERNAL
    assert "secret_internal_table_name" not in response.to_telegram()
    assert "secret_internal_table_name" not in json.dumps(response.to_dict())


def test_correlation_id_defaults_to_the_bound_one() -> None:
    with bind_update_context(user_id=1) as cid:
        response = ErrorFactory.from_exception(RuntimeError("x"))
    assert response.correlation_id == cid
    assert isinstance(response, ErrorResponse)

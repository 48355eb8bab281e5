"""The one table of Telegram RPC errors: which stable code each maps to, and what a caller does.

Keyed by Telegram's RPC error ID (`USER_IS_BLOCKED`, ...), so `core/utils/errors.py` can use it
without importing Pyrogram; `core/telegram/api_wrapper.py` and the middleware read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.utils.error_codes import ErrorCode
from core.utils.errors import (
    AppError,
    ErrorFactory,
    ErrorResponse,
    RateLimitedError,
    TelegramError,
)

__all__ = [
    "NOT_MODIFIED",
    "TELEGRAM_ERRORS",
    "Kind",
    "TelegramErrorInfo",
    "as_app_error",
    "code_for",
    "error_response",
    "info_for",
    "rpc_id",
]


class Kind(StrEnum):
    """What a caller should do about an error."""

    RECIPIENT_GONE = "recipient_gone"  # the user blocked the bot or deleted the account: stop
    NO_ACCESS = "no_access"  # the bot may not write there (any more): stop for this chat
    NO_OP = "no_op"  # nothing to do: the request changed nothing (an edit to the same content)


@dataclass(frozen=True, slots=True)
class TelegramErrorInfo:
    code: ErrorCode
    kind: Kind

    @property
    def terminal(self) -> bool:
        """Retrying the same recipient will not help."""
        return self.kind in {Kind.RECIPIENT_GONE, Kind.NO_ACCESS}


NOT_MODIFIED = "MESSAGE_NOT_MODIFIED"

TELEGRAM_ERRORS: dict[str, TelegramErrorInfo] = {
    "USER_IS_BLOCKED": TelegramErrorInfo(ErrorCode.TELEGRAM_USER_BLOCKED, Kind.RECIPIENT_GONE),
    "INPUT_USER_DEACTIVATED": TelegramErrorInfo(
        ErrorCode.TELEGRAM_USER_DEACTIVATED, Kind.RECIPIENT_GONE
    ),
    "USER_DEACTIVATED": TelegramErrorInfo(ErrorCode.TELEGRAM_USER_DEACTIVATED, Kind.RECIPIENT_GONE),
    "PEER_ID_INVALID": TelegramErrorInfo(ErrorCode.TELEGRAM_PEER_INVALID, Kind.NO_ACCESS),
    "CHAT_WRITE_FORBIDDEN": TelegramErrorInfo(ErrorCode.TELEGRAM_WRITE_FORBIDDEN, Kind.NO_ACCESS),
    "CHAT_ADMIN_REQUIRED": TelegramErrorInfo(ErrorCode.TELEGRAM_WRITE_FORBIDDEN, Kind.NO_ACCESS),
    "USER_BANNED_IN_CHANNEL": TelegramErrorInfo(ErrorCode.TELEGRAM_WRITE_FORBIDDEN, Kind.NO_ACCESS),
    NOT_MODIFIED: TelegramErrorInfo(ErrorCode.TELEGRAM, Kind.NO_OP),
}


def rpc_id(exc: BaseException) -> str | None:
    """The RPC error ID of a Pyrogram error (`FLOOD_WAIT_X`, `USER_IS_BLOCKED`, ...), else None."""
    for klass in type(exc).__mro__:
        if klass.__module__.startswith("pyrogram.errors"):
            value = getattr(exc, "ID", None)
            return value if isinstance(value, str) else None
    return None


def info_for(exc: BaseException) -> TelegramErrorInfo | None:
    """The table's row for a Pyrogram error, if it has one."""
    found = rpc_id(exc)
    return TELEGRAM_ERRORS.get(found) if found is not None else None


def code_for(telegram_id: str) -> ErrorCode:
    info = TELEGRAM_ERRORS.get(telegram_id)
    return info.code if info is not None else ErrorCode.TELEGRAM


def as_app_error(exc: BaseException) -> BaseException:
    """A raw Telegram error as the bot's own: a FloodWait → `RateLimitedError` with its wait,
    any other RPC error → `TelegramError` with the table's code. Anything else unchanged."""
    if isinstance(exc, AppError):
        return exc
    found = rpc_id(exc)
    if found == "FLOOD_WAIT_X":
        # Pyrogram 2 keeps the wait in `.value`; `.x` does not exist.
        value = getattr(exc, "value", 0)
        return RateLimitedError(float(value) if isinstance(value, int | float) else 0.0)
    if found is not None:
        return TelegramError(found, specific_code=code_for(found))
    return exc


def error_response(exc: BaseException, *, correlation_id: str | None = None) -> ErrorResponse:
    """`ErrorFactory.from_exception` for code that may meet a raw Telegram error (a send, an
    update's handler): the table maps it first."""
    return ErrorFactory.from_exception(as_app_error(exc), correlation_id=correlation_id)

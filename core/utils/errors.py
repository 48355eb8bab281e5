"""Error codes, the `AppError` tree, `ErrorResponse` values and correlation ids.

Exception tree::

    AppError                      code=INTERNAL
    ├── ValidationError           code=VALIDATION            .field
    ├── NotFoundError             code=NOT_FOUND              .what
    ├── AccessError               code=PERMISSION_DENIED
    │   ├── BannedError           code=BANNED                 .reason
    │   ├── PremiumRequiredError  code=PREMIUM_REQUIRED
    │   └── SubscriptionRequiredError code=SUBSCRIPTION_REQUIRED .channels
    ├── RateLimitedError          code=RATE_LIMITED           .retry_after
    │   └── FloodWaitError        code=FLOOD_WAIT             .retry_after, .method
    ├── StorageError              code=STORAGE                .operation
    ├── SearchUnavailableError    code=SEARCH_UNAVAILABLE     .rebuilt
    ├── ChannelUnreadableError    code=CHANNEL_UNREADABLE     .reason
    ├── InstanceRunningError      code=INTERNAL               .holder
    └── TelegramError             code=TELEGRAM               .telegram_id, .method

`ErrorResponse` is a frozen value built from any exception by `ErrorFactory`; it is never raised.
Pyrogram is not imported here: its RPC errors are recognised by their class's module and `ID`,
and mapped by the one table in `core/telegram/errors.py`.
"""

from __future__ import annotations

import contextvars
import html
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from core.logging import bind_context, bound_context, unbind_context
from core.utils.error_codes import ErrorCode

__all__ = [
    "TELEGRAM_CONNECTION_TIMED_OUT",
    "AccessError",
    "AppError",
    "BannedError",
    "ChannelUnreadableError",
    "ErrorCode",
    "ErrorFactory",
    "ErrorResponse",
    "FloodWaitError",
    "InstanceRunningError",
    "NotFoundError",
    "PremiumRequiredError",
    "RateLimitedError",
    "SearchUnavailableError",
    "StorageError",
    "SubscriptionRequiredError",
    "SuccessResponse",
    "TelegramError",
    "ValidationError",
    "bind_update_context",
    "current_correlation_id",
    "new_correlation_id",
]


# What the user reads for each code. Short, actionable, no internals.
_USER_MESSAGES: Mapping[ErrorCode, str] = {
    ErrorCode.VALIDATION: "That input is not valid.",
    ErrorCode.PERMISSION_DENIED: "You are not allowed to do that.",
    ErrorCode.BANNED: "You are banned from using this bot.",
    ErrorCode.PREMIUM_REQUIRED: "This is available to premium users only.",
    ErrorCode.SUBSCRIPTION_REQUIRED: "Please join the required channel(s) first.",
    ErrorCode.NOT_FOUND: "That was not found. It may have been removed.",
    ErrorCode.RATE_LIMITED: "You are going too fast. Please wait a moment.",
    ErrorCode.FLOOD_WAIT: "Telegram asked the bot to slow down. Please try again shortly.",
    ErrorCode.STORAGE: "The database is unavailable right now. Please try again later.",
    ErrorCode.SEARCH_UNAVAILABLE: (
        "The search index is being rebuilt. Please try again in a minute."
    ),
    ErrorCode.CHANNEL_UNREADABLE: "The bot cannot read that channel.",
    ErrorCode.TELEGRAM: "Telegram refused that request. Please try again later.",
    ErrorCode.TELEGRAM_USER_BLOCKED: "The user has blocked the bot.",
    ErrorCode.TELEGRAM_USER_DEACTIVATED: "That account has been deleted.",
    ErrorCode.TELEGRAM_PEER_INVALID: "That chat is unknown to the bot.",
    ErrorCode.TELEGRAM_WRITE_FORBIDDEN: "The bot cannot write in that chat.",
    ErrorCode.INTERNAL: "Something went wrong on our side.",
}


class AppError(Exception):
    """Base of every error the project raises on purpose."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(self, message: str = "", *, user_message: str | None = None) -> None:
        super().__init__(message or type(self).__name__)
        self.user_message = user_message

    def details(self) -> dict[str, Any]:
        """Structured data for logs and `ErrorResponse.details` (no secrets, no PII)."""
        return {}


class ValidationError(AppError):
    code = ErrorCode.VALIDATION

    def __init__(self, field: str, message: str = "", *, user_message: str | None = None) -> None:
        super().__init__(message or f"invalid {field}", user_message=user_message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field}


class NotFoundError(AppError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str, message: str = "", *, user_message: str | None = None) -> None:
        super().__init__(message or f"{what} not found", user_message=user_message)
        self.what = what

    def details(self) -> dict[str, Any]:
        return {"what": self.what}


class AccessError(AppError):
    code = ErrorCode.PERMISSION_DENIED


class BannedError(AccessError):
    code = ErrorCode.BANNED

    def __init__(self, reason: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__("user is banned", user_message=user_message)
        self.reason = reason


class PremiumRequiredError(AccessError):
    code = ErrorCode.PREMIUM_REQUIRED


class SubscriptionRequiredError(AccessError):
    code = ErrorCode.SUBSCRIPTION_REQUIRED

    def __init__(
        self, channels: tuple[int | str, ...] = (), *, user_message: str | None = None
    ) -> None:
        super().__init__("subscription required", user_message=user_message)
        self.channels = channels

    def details(self) -> dict[str, Any]:
        return {"channels": list(self.channels)}


class RateLimitedError(AppError):
    code = ErrorCode.RATE_LIMITED

    def __init__(
        self, retry_after: float, message: str = "", *, user_message: str | None = None
    ) -> None:
        super().__init__(message or f"retry after {retry_after:g}s", user_message=user_message)
        self.retry_after = retry_after

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class FloodWaitError(RateLimitedError):
    """Telegram's FloodWait outlasted what the wrapper was allowed to wait."""

    code = ErrorCode.FLOOD_WAIT

    def __init__(self, retry_after: float, method: str) -> None:
        super().__init__(retry_after, f"FloodWait of {retry_after:g}s on {method}")
        self.method = method

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after, "method": self.method}


class StorageError(AppError):
    """A database operation failed; raised `from` the driver's exception."""

    code = ErrorCode.STORAGE

    def __init__(self, operation: str, message: str = "") -> None:
        super().__init__(message or f"storage operation failed: {operation}")
        self.operation = operation

    def details(self) -> dict[str, Any]:
        return {"operation": self.operation}


class SearchUnavailableError(AppError):
    """The full-text index is being rebuilt from the database (`rebuilt`: files so far)."""

    code = ErrorCode.SEARCH_UNAVAILABLE

    def __init__(self, rebuilt: int = 0) -> None:
        super().__init__(f"search index being rebuilt ({rebuilt} files so far)")
        self.rebuilt = rebuilt

    def details(self) -> dict[str, Any]:
        return {"rebuilt": self.rebuilt}


class ChannelUnreadableError(AppError):
    """The bot cannot read a channel's posts (not an admin, no such channel, a private chat);
    `reason` says which, in words an admin acts on."""

    code = ErrorCode.CHANNEL_UNREADABLE

    def __init__(self, reason: str) -> None:
        super().__init__(reason, user_message=reason)
        self.reason = reason


class InstanceRunningError(AppError):
    """Another process runs this bot token (the `instances` lease): this one must not start."""

    def __init__(self, holder: str) -> None:
        super().__init__(
            f"another instance is running this bot ({holder}); stop it first, or start this "
            "one with --force-restart to take over"
        )
        self.holder = holder


TELEGRAM_CONNECTION_TIMED_OUT = "no network route to Telegram: the connection timed out"
"""Why a login or the health check's Telegram probe failed when Telegram never answered."""


class TelegramError(AppError):
    """A Telegram request failed for a reason the caller should handle."""

    code = ErrorCode.TELEGRAM

    def __init__(
        self,
        telegram_id: str,
        method: str = "",
        message: str = "",
        *,
        specific_code: ErrorCode = ErrorCode.TELEGRAM,
    ) -> None:
        """`specific_code`: what the Telegram edge's table (`core/telegram/errors.py`) says
        this RPC error means for the user (blocked, no access, ...)."""
        super().__init__(message or f"Telegram error {telegram_id} on {method or 'request'}")
        self.telegram_id = telegram_id
        self.method = method
        self.specific_code = specific_code

    def details(self) -> dict[str, Any]:
        return {"telegram_id": self.telegram_id, "method": self.method}


# --- correlation ids -----------------------------------------------------------------------------

_CORRELATION_KEY = "correlation_id"
_random = random.Random()  # noqa: S311 - correlation ids are references, not secrets


def new_correlation_id() -> str:
    """A fresh short id (8 hex characters) that a user can quote to an admin.

    Not a secret: it only has to be unique enough to find one update's log lines.
    """
    return f"{_random.getrandbits(32):08x}"


def current_correlation_id() -> str | None:
    """The correlation id bound for the update being handled, if any."""
    value = bound_context().get(_CORRELATION_KEY)
    return value if isinstance(value, str) else None


class bind_update_context:  # noqa: N801 - used like a function: `with bind_update_context(...)`
    """Bind a correlation id (and user/chat/update ids) for one update; unbind them afterwards.

    The values go to every log line through `core.logging.bind_context`: one context variable
    set and reset per update (this is the hot path). Pyrogram's workers are long-lived tasks, so
    anything left bound would leak into the next update: the binding is reset with its token on
    the way out, whatever happens inside.
    """

    __slots__ = ("_token", "_values", "correlation_id")

    def __init__(self, correlation_id: str | None = None, **context: int | str | None) -> None:
        self.correlation_id = correlation_id or new_correlation_id()
        self._values: dict[str, object] = {_CORRELATION_KEY: self.correlation_id}
        self._values.update((key, value) for key, value in context.items() if value is not None)
        self._token: contextvars.Token[Mapping[str, object]] | None = None

    def __enter__(self) -> str:
        self._token = bind_context(self._values)
        return self.correlation_id

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            unbind_context(self._token)
            self._token = None


# --- responses -----------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """What a user (or an API client) is told about a failure. A value, never raised."""

    code: ErrorCode
    message: str
    correlation_id: str
    details: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    timestamp: datetime = field(default_factory=_now)

    @property
    def reference(self) -> str:
        return f"ref: {self.correlation_id}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": False,
            "code": self.code.value,
            "message": self.message,
            "correlation_id": self.correlation_id,
            "timestamp": self.timestamp.isoformat(),
        }
        if self.details:
            data["details"] = dict(self.details)
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        return data

    def to_telegram(self) -> str:
        """HTML for Telegram: the escaped message, a retry hint, and the quotable reference."""
        parts = [html.escape(self.message)]
        if self.retry_after is not None:
            parts.append(f"Try again in {max(1, round(self.retry_after))} s.")
        text = " ".join(parts)
        return f"{text}\n<i>{html.escape(self.reference)}</i>"


@dataclass(frozen=True, slots=True)
class SuccessResponse:
    """A successful outcome in the same shape as `ErrorResponse`, for logs and JSON."""

    message: str
    correlation_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "message": self.message,
            "correlation_id": self.correlation_id,
            "data": dict(self.data),
            "timestamp": self.timestamp.isoformat(),
        }

    def to_telegram(self) -> str:
        return html.escape(self.message)


class ErrorFactory:
    """Builds `ErrorResponse`s from exceptions and codes."""

    @staticmethod
    def user_message(code: ErrorCode) -> str:
        return _USER_MESSAGES[code]

    @staticmethod
    def create(
        code: ErrorCode,
        message: str | None = None,
        *,
        correlation_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> ErrorResponse:
        return ErrorResponse(
            code=code,
            message=message or _USER_MESSAGES[code],
            correlation_id=correlation_id or current_correlation_id() or new_correlation_id(),
            details=dict(details or {}),
            retry_after=retry_after,
        )

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, correlation_id: str | None = None
    ) -> ErrorResponse:
        """Map any exception to a response; unknown exceptions never leak their text."""
        if isinstance(exc, TelegramError):
            return cls.create(
                exc.specific_code,
                exc.user_message,
                correlation_id=correlation_id,
                details=exc.details(),
            )
        if isinstance(exc, RateLimitedError):
            return cls.create(
                exc.code,
                exc.user_message,
                correlation_id=correlation_id,
                retry_after=exc.retry_after,
            )
        if isinstance(exc, AppError):
            return cls.create(
                exc.code, exc.user_message, correlation_id=correlation_id, details=exc.details()
            )
        return cls.create(ErrorCode.INTERNAL, correlation_id=correlation_id)

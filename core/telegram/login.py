"""Why a Telegram login failed, in words an operator can act on (never a traceback)."""

from __future__ import annotations

from pyrogram.errors import FloodWait, RPCError, Unauthorized

from core.utils.errors import TELEGRAM_CONNECTION_TIMED_OUT, AppError

__all__ = ["TelegramLoginError", "telegram_login_failure"]

_TOKEN_REJECTED = frozenset({"ACCESS_TOKEN_INVALID", "ACCESS_TOKEN_EXPIRED", "BOT_TOKEN_INVALID"})
_API_REJECTED = frozenset({"API_ID_INVALID", "API_ID_PUBLISHED_FLOOD"})


class TelegramLoginError(AppError):
    """The bot could not log in to Telegram; `reason` says why, without any secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def telegram_login_failure(exc: BaseException) -> TelegramLoginError:  # noqa: PLR0911 - a return per cause
    """Classify whatever `Client.start()` raised.

    Telegram's own refusals name the setting to fix. Anything below the RPC layer — a refused
    or timed-out connection, or a reply that is not Telegram's (Pyrogram then fails while
    decoding it, e.g. with `KeyError: 0`, when something on the route answers instead of
    Telegram) — means Telegram could not be reached.
    """
    if isinstance(exc, TelegramLoginError):
        return exc
    if isinstance(exc, FloodWait):
        return TelegramLoginError(
            f"could not log in to Telegram: too many logins, Telegram asks to wait {exc.value} s"
        )
    if isinstance(exc, RPCError):
        telegram_id = str(exc.ID or type(exc).__name__)
        if telegram_id in _TOKEN_REJECTED or isinstance(exc, Unauthorized):
            return TelegramLoginError(f"BOT_TOKEN was rejected by Telegram ({telegram_id})")
        if telegram_id in _API_REJECTED:
            return TelegramLoginError(f"API_ID/API_HASH were rejected by Telegram ({telegram_id})")
        return TelegramLoginError(f"could not log in to Telegram: {telegram_id}")
    if isinstance(exc, TimeoutError):
        return TelegramLoginError(TELEGRAM_CONNECTION_TIMED_OUT)
    if isinstance(exc, OSError):
        detail = exc.strerror or type(exc).__name__
        return TelegramLoginError(f"no network route to Telegram: {detail.lower()}")
    return TelegramLoginError(
        "no network route to Telegram: the connection did not answer like Telegram "
        f"({type(exc).__name__})"
    )

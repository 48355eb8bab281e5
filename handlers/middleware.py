"""The wrapper every handler runs in: context binding, per-user rate limit, the error boundary."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pyrogram
from pyrogram.errors import RPCError

from core.logging import get_logger
from core.utils.errors import (
    AppError,
    ErrorFactory,
    ErrorResponse,
    RateLimitedError,
    bind_update_context,
)
from core.utils.guards import answer_with
from core.utils.ratelimit import UserRateLimiter

__all__ = ["Callback", "Middleware"]

Callback = Callable[[pyrogram.Client, Any], Awaitable[None]]
SeenHook = Callable[[int, str, str | None], Awaitable[None]]
log = get_logger(__name__)


def _ids(update: Any) -> tuple[int | None, int | None, int | str | None]:
    user = getattr(update, "from_user", None)
    user_id = getattr(user, "id", None)
    message = update if hasattr(update, "chat") else getattr(update, "message", None)
    chat = getattr(message, "chat", None)
    chat_id = getattr(chat, "id", None)
    update_id = getattr(update, "id", None)
    return user_id, chat_id, update_id


class Middleware:
    """Wraps handler callbacks; `wrap` is applied to every handler by `register_handlers`."""

    def __init__(
        self,
        *,
        admins: frozenset[int],
        limiter: UserRateLimiter,
        on_unhandled_error: Callable[[BaseException], None] | None = None,
        on_user: SeenHook | None = None,
    ) -> None:
        self._admins = admins
        self._limiter = limiter
        self._on_user = on_user
        self.on_unhandled_error = on_unhandled_error

    def wrap(
        self,
        callback: Callback,
        *,
        record_user: bool = True,
        addressed: Callable[[pyrogram.Client, Any], bool] | None = None,
    ) -> Callback:
        """`record_user=False` for updates that are not the user talking to the bot (a join
        request to a channel), so they do not count as the bot's users.

        `addressed(client, update)` tells updates meant for the bot from those it merely sees
        (group chatter): only the former are rate-limited and make the sender a user.
        """
        name = callback.__name__
        on_user = self._on_user if record_user else None

        @functools.wraps(callback)
        async def wrapped(client: pyrogram.Client, update: Any) -> None:
            user_id, chat_id, update_id = _ids(update)
            with bind_update_context(
                user_id=user_id, chat_id=chat_id, update_id=update_id, handler=name
            ):
                if addressed is not None and not addressed(client, update):
                    user_id = None  # not for the bot: neither counted nor recorded
                if user_id is not None and user_id not in self._admins:
                    decision = self._limiter.hit(user_id)
                    if not decision.allowed:
                        log.info("rate_limited", notified=decision.notify)
                        if decision.notify:
                            error = RateLimitedError(decision.retry_after)
                            await self._answer(update, ErrorFactory.from_exception(error))
                        return
                if user_id is not None and on_user is not None:
                    await self._seen(on_user, update)
                try:
                    await callback(client, update)
                except (pyrogram.StopPropagation, pyrogram.ContinuePropagation):
                    raise
                except AppError as exc:
                    response = ErrorFactory.from_exception(exc)
                    log.info("handler_refused", code=response.code.value, error=str(exc))
                    await self._answer(update, response)
                except RPCError as exc:
                    # Telegram refused a request (FloodWait, blocked user, ...): not a bug.
                    response = ErrorFactory.from_exception(exc)
                    log.warning("telegram_refused", code=response.code.value, telegram_id=exc.ID)
                    await self._answer(update, response)
                except Exception as exc:
                    response = ErrorFactory.from_exception(exc)
                    log.exception("unhandled_error", code=response.code.value)
                    if self.on_unhandled_error is not None:
                        self.on_unhandled_error(exc)
                    await self._answer(update, response)

        return wrapped

    @staticmethod
    async def _seen(hook: SeenHook, update: Any) -> None:
        """Record the user; a database hiccup here must not cost them their answer."""
        user = update.from_user
        if getattr(user, "is_bot", False):
            return
        try:
            await hook(user.id, user.first_name or "", user.username)
        except AppError as exc:
            log.warning("user_upsert_failed", error=str(exc))

    async def _answer(self, update: Any, response: ErrorResponse) -> None:
        """Tell the user; if even that fails, log it — nothing escapes the boundary."""
        try:
            await answer_with(update, response)
        except Exception as exc:  # noqa: BLE001 - the boundary must not raise
            log.warning("error_reply_failed", error=type(exc).__name__, code=response.code.value)

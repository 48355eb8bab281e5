"""The wrapper every handler runs in: context binding, per-user rate limit, the ban, and the one
error boundary (which also renders every error the user sees, with its reference)."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pyrogram
from pyrogram.enums import ChatType
from pyrogram.errors import RPCError
from pyrogram.types import CallbackQuery, InlineQuery, Message

from core.logging import get_logger
from core.telegram.errors import Kind, error_response, info_for
from core.traces import Trace, start_trace
from core.utils.errors import (
    AccessError,
    AppError,
    BannedError,
    ErrorCode,
    ErrorResponse,
    RateLimitedError,
    bind_update_context,
)
from core.utils.guards import one_read_per_update
from core.utils.ratelimit import UserRateLimiter
from handlers import views
from services.notices import GONE_CODES

__all__ = ["Callback", "Middleware", "answer_with"]

Callback = Callable[[pyrogram.Client, Any], Awaitable[None]]
SeenHook = Callable[[int, str, str | None], Awaitable[None]]
UserCheck = Callable[[int], Awaitable[bool]]
UserHook = Callable[[int], Awaitable[None]]
log = get_logger(__name__)

# Codes that mean the bot failed (not a refusal the user's request deserved).
_FAILURES = frozenset(
    {ErrorCode.INTERNAL, ErrorCode.STORAGE, ErrorCode.SEARCH_UNAVAILABLE, ErrorCode.TELEGRAM}
)

_GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}


def _ids(update: Any) -> tuple[int | None, int | None, int | str | None]:
    user = getattr(update, "from_user", None)
    user_id = getattr(user, "id", None)
    message = update if hasattr(update, "chat") else getattr(update, "message", None)
    chat = getattr(message, "chat", None)
    chat_id = getattr(chat, "id", None)
    update_id = getattr(update, "id", None)
    return user_id, chat_id, update_id


async def _allowed(update: Any, user_id: int, is_banned: UserCheck) -> bool:
    """False for a banned user's group message (ignored: no reply to every sentence in a
    group); a `BannedError` everywhere else, which the boundary answers; True otherwise."""
    if not await is_banned(user_id):
        return True
    if _in_group(update):
        log.info("banned_user_ignored")
        return False
    raise BannedError


def _kind_of(update: Any) -> str:
    if isinstance(update, Message):
        return "message"
    if isinstance(update, CallbackQuery):
        return "callback_query"
    if isinstance(update, InlineQuery):
        return "inline_query"
    return type(update).__name__.lower()


def _in_group(update: Any) -> bool:
    """A message written in a group (where the bot answers refusals with silence)."""
    chat = getattr(update, "chat", None) if isinstance(update, Message) else None
    return chat is not None and chat.type in _GROUPS


class Middleware:
    """Wraps handler callbacks; `wrap` is applied to every handler by `register_handlers`."""

    def __init__(
        self,
        *,
        is_admin: Callable[[int], bool],
        limiter: UserRateLimiter,
        on_unhandled_error: Callable[[BaseException], None] | None = None,
        on_user: SeenHook | None = None,
        is_banned: UserCheck | None = None,
        on_recipient_gone: UserHook | None = None,
        on_trace: Callable[[Trace], None] | None = None,
        on_failure: Callable[[BaseException, str], None] | None = None,
    ) -> None:
        """`on_trace`: every handled update's trace (metrics, the trace store, the log line);
        `on_failure`: unhandled errors, for the alerts."""
        self._is_admin = is_admin
        self._limiter = limiter
        self._on_user = on_user
        self._is_banned = is_banned
        self._on_gone = on_recipient_gone
        self.on_unhandled_error = on_unhandled_error
        self.on_trace = on_trace
        self.on_failure = on_failure
        self.trace_unaddressed = False  # group chatter not meant for the bot is not traced

    def wrap(
        self,
        callback: Callback,
        *,
        record_user: bool = True,
        addressed: Callable[[pyrogram.Client, Any], bool] | None = None,
        admin: bool = False,
    ) -> Callback:
        """`admin=True`: for admins only; anyone else is answered "not allowed" (the one place
        commands are refused to non-admins; buttons: the callback router).

        `record_user=False` for updates that are not the user talking to the bot (a join
        request to a channel): they neither count as the bot's users nor meet the ban.

        `addressed(client, update)` tells updates meant for the bot from those it merely sees
        (group chatter): only the former are rate-limited and make the sender a user.
        """
        name = callback.__name__
        on_user = self._on_user if record_user else None
        is_banned = self._is_banned if record_user else None

        @functools.wraps(callback)
        async def wrapped(client: pyrogram.Client, update: Any) -> None:
            user_id, chat_id, update_id = _ids(update)
            with bind_update_context(
                user_id=user_id, chat_id=chat_id, update_id=update_id, handler=name
            ) as correlation_id:
                trace = Trace(
                    correlation_id=correlation_id,
                    update=_kind_of(update),
                    handler=name,
                    user_id=user_id,
                    chat_id=chat_id if isinstance(chat_id, int) else None,
                    started_at=time.time(),
                )
                with start_trace(trace), one_read_per_update():
                    trace.outcome, trace.code = await self._handle(
                        callback, client, update, user_id, on_user, is_banned, addressed, admin
                    )
                if self.on_trace is not None and trace.outcome != "ignored":
                    self.on_trace(trace)

        return wrapped

    async def _handle(  # noqa: PLR0917 - the update and what `wrap` bound for it
        self,
        callback: Callback,
        client: pyrogram.Client,
        update: Any,
        user_id: int | None,
        on_user: SeenHook | None,
        is_banned: UserCheck | None,
        addressed: Callable[[pyrogram.Client, Any], bool] | None,
        admin: bool = False,
    ) -> tuple[str, str | None]:
        """Rate limit, record the user, run the handler; the outcome and error code."""
        if addressed is not None and not addressed(client, update):
            user_id = None  # not for the bot: neither counted nor recorded
            if not self.trace_unaddressed:
                await self._run(callback, client, update, user_id, is_banned)
                return "ignored", None
        if user_id is not None and not self._is_admin(user_id):
            decision = self._limiter.hit(user_id)
            if not decision.allowed:
                log.info("rate_limited", notified=decision.notify)
                if decision.notify:
                    error = RateLimitedError(decision.retry_after)
                    await self._answer(update, error_response(error))
                return "refused", ErrorCode.RATE_LIMITED.value
        if user_id is not None and on_user is not None:
            await self._seen(on_user, update)
        return await self._run(callback, client, update, user_id, is_banned, admin=admin)

    async def _run(
        self,
        callback: Callback,
        client: pyrogram.Client,
        update: Any,
        user_id: int | None,
        is_banned: UserCheck | None,
        *,
        admin: bool = False,
    ) -> tuple[str, str | None]:
        """The error boundary: whatever the handler raises ends here, answered or logged.
        Returns the outcome ("ok", "refused", "error", "telegram_error") and the error code."""
        try:
            if (
                user_id is not None
                and is_banned is not None
                and not await _allowed(update, user_id, is_banned)
            ):
                return "refused", ErrorCode.BANNED.value
            if admin:
                self._require_admin(user_id)
            await callback(client, update)
        except (pyrogram.StopPropagation, pyrogram.ContinuePropagation):
            raise
        except AppError as exc:
            response = error_response(exc)
            log.info("handler_refused", code=response.code.value, error=str(exc))
            await self._answer(update, response)
            outcome = "error" if response.code in _FAILURES else "refused"
            return outcome, response.code.value
        except RPCError as exc:
            code = await self._telegram_refused(update, exc)
            return ("ok", None) if code is None else ("telegram_error", code)
        except Exception as exc:
            response = error_response(exc)
            log.exception("unhandled_error", code=response.code.value)
            if self.on_unhandled_error is not None:
                self.on_unhandled_error(exc)
            if self.on_failure is not None:
                self.on_failure(exc, response.code.value)
            await self._answer(update, response)
            return "error", response.code.value
        return "ok", None

    def _require_admin(self, user_id: int | None) -> None:
        if user_id is None or not self._is_admin(user_id):
            raise AccessError

    async def _telegram_refused(self, update: Any, exc: RPCError) -> str | None:
        """Telegram refused a request (FloodWait, blocked user, ...): not a bug. The error
        code, or None when nothing went wrong (an edit that changed nothing)."""
        info = info_for(exc)
        if info is not None and info.kind is Kind.NO_OP:
            # An edit into the same content (a double tap, the filter already selected):
            # nothing changed and nothing went wrong; stop the button's spinner silently.
            log.debug("telegram_no_op", telegram_id=exc.ID)
            if isinstance(update, CallbackQuery):
                await self._quietly(update.answer())
            return None
        response = error_response(exc)
        log.warning("telegram_refused", code=response.code.value, telegram_id=exc.ID)
        user = getattr(update, "from_user", None)
        if response.code in GONE_CODES and self._on_gone is not None and user is not None:
            await self._quietly(self._on_gone(user.id))
            return response.code.value  # nobody to tell
        await self._answer(update, response)
        return response.code.value

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
        await self._quietly(answer_with(update, response), code=response.code.value)

    @staticmethod
    async def _quietly(action: Awaitable[object], code: str = "") -> None:
        try:
            await action
        except Exception as exc:  # noqa: BLE001 - the boundary must not raise
            log.warning("error_reply_failed", error=type(exc).__name__, code=code)


async def answer_with(update: Any, response: ErrorResponse) -> None:
    """Show `response`, with its reference, on whatever kind of update this is."""
    if isinstance(update, Message):
        await update.reply_text(views.error_text(response))
    elif isinstance(update, InlineQuery):  # no results, a button to the bot instead
        text, parameter = views.error_switch(response)
        await update.answer(
            [], cache_time=0, is_personal=True, switch_pm_text=text, switch_pm_parameter=parameter
        )
    elif isinstance(update, CallbackQuery):  # a plain-text alert, at most 200 characters
        await update.answer(views.error_alert(response), show_alert=True)
    else:
        log.info("error_not_shown", code=response.code.value, update=type(update).__name__)

"""Routes button presses by their signed action; stale or forged data gets a clear answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from pyrogram import Client
from pyrogram.types import CallbackQuery

from core.logging import get_logger
from core.utils.guards import Guards
from handlers.middleware import Callback
from handlers.views import already_decided
from services.callbacks import CallbackCodec
from services.prompts import PromptDecisions

__all__ = ["STALE_BUTTON", "CallbackRoute", "Encode", "make_on_callback"]

Encode = Callable[..., str]
"""`CallbackCodec.encode`: an action and its fields as signed button data."""

CallbackRoute = Callable[[Client, CallbackQuery, tuple[str, ...]], Awaitable[None]]
"""A button action: the client, the query, and the fields signed into the button."""

log = get_logger(__name__)

STALE_BUTTON = "This button has expired. Please send your request again."


def make_on_callback(
    *,
    callbacks: CallbackCodec,
    guards: Guards,
    prompts: PromptDecisions,
    routes: Mapping[str, CallbackRoute],
    decisions: Mapping[str, str] | None = None,
    admin_actions: frozenset[str] = frozenset(),
) -> Callback:
    """`admin_actions`: the buttons only admins may press (anyone else is answered "not
    allowed"); every prompt's buttons are among them.

    `decisions`: the actions that answer an admin's prompt (index this? send that?), with
    what pressing them decides. The first press decides it for good, stored in the database
    (first writer wins, across processes); any later press (a double tap, a second admin, an
    old client still showing the buttons) is told what was decided and acts on nothing. If the
    action fails, the prompt is open again."""
    decisions = decisions or {}

    async def on_callback(client: Client, query: CallbackQuery) -> None:
        decoded = callbacks.decode(query.data)
        if not decoded.ok or decoded.value is None or decoded.value.action not in routes:
            log.info("callback_rejected", reason=decoded.message or "unknown action")
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        action, fields = decoded.value.action, decoded.value.fields
        if action in admin_actions or action in decisions:
            guards.require_admin(query.from_user.id if query.from_user else None)
        decision = decisions.get(action)
        if decision is None:
            await routes[action](client, query, fields)
            return
        message = query.message
        if message is None or message.chat is None or message.chat.id is None:
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        chat_id, message_id = message.chat.id, message.id
        earlier = await prompts.decide(chat_id, message_id, decision, query.from_user.id)
        if earlier is not None:
            await query.answer(already_decided(earlier), show_alert=True)
            return
        try:
            await routes[action](client, query, fields)
        except BaseException:
            await prompts.forget(chat_id, message_id)
            raise

    return on_callback

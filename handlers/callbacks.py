"""Routes button presses by their signed action; stale or forged data gets a clear answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from pyrogram import Client
from pyrogram.types import CallbackQuery

from core.logging import get_logger
from core.services import Services
from handlers.middleware import Callback

__all__ = ["STALE_BUTTON", "CallbackRoute", "Encode", "make_on_callback"]

Encode = Callable[..., str]
"""`CallbackCodec.encode`: an action and its fields as signed button data."""

CallbackRoute = Callable[[Client, CallbackQuery, tuple[str, ...]], Awaitable[None]]
"""A button action: the client, the query, and the fields signed into the button."""

log = get_logger(__name__)

STALE_BUTTON = "This button has expired. Please send your request again."


def make_on_callback(services: Services, routes: Mapping[str, CallbackRoute]) -> Callback:
    async def on_callback(client: Client, query: CallbackQuery) -> None:
        decoded = services.callbacks.decode(query.data)
        if not decoded.ok or decoded.value is None or decoded.value.action not in routes:
            log.info("callback_rejected", reason=decoded.message or "unknown action")
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        await routes[decoded.value.action](client, query, decoded.value.fields)

    return on_callback

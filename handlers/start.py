"""/start and /help, and the Help/Back buttons that switch between them."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import CallbackQuery, Message

from core.services import Services
from core.services.links import LINK_PREFIX
from handlers import views
from handlers.callbacks import CallbackRoute
from handlers.common import bot_username
from handlers.delivery import send_file, send_join_request
from handlers.links import open_link
from handlers.middleware import Callback

__all__ = [
    "make_on_help",
    "make_on_help_button",
    "make_on_start",
    "make_on_start_button",
    "make_on_unknown_command",
]


def make_on_start(services: Services) -> Callback:
    """`/start`, and the deep links that arrive as `/start <payload>` in private chat:
    `f_<file>` delivers a file (group result buttons), `subscribe` and `premium` come from
    inline mode's "switch to PM" button."""

    async def on_start(client: Client, message: Message) -> None:
        user = message.from_user
        if user is None:  # an anonymous group admin: nobody to greet
            return
        payload = message.command[1] if message.command and len(message.command) > 1 else ""
        private = message.chat is not None and message.chat.id == user.id
        if private and payload.startswith("f_") and len(payload) > 2:  # noqa: PLR2004
            await send_file(client, services, user.id, payload[2:])
            return
        if private and payload.startswith(LINK_PREFIX) and len(payload) > len(LINK_PREFIX):
            await open_link(client, services, user.id, payload.removeprefix(LINK_PREFIX))
            return
        if private and payload == "subscribe":
            missing = await services.subscription.missing(user.id)
            if missing:
                await send_join_request(
                    client, services, user.id, tuple(c.chat_id for c in missing), None
                )
                return
        if private and payload == "premium":
            await message.reply_text(views.premium_text(services.guards.premium_info))
            return
        await message.reply_text(
            views.start_text(user.first_name or "", bot_username(client)),
            reply_markup=views.start_keyboard(services.callbacks.encode, bot_username(client)),
        )

    return on_start


def make_on_help(services: Services) -> Callback:
    async def on_help(_client: Client, message: Message) -> None:
        is_admin = message.from_user is not None and services.guards.is_admin(message.from_user.id)
        await message.reply_text(views.help_text(is_admin=is_admin))

    return on_help


def make_on_help_button(services: Services) -> CallbackRoute:
    async def on_help_button(_client: Client, query: CallbackQuery, _: tuple[str, ...]) -> None:
        is_admin = services.guards.is_admin(query.from_user.id)
        if query.message is None:  # the message is too old to edit: just acknowledge
            await query.answer()
            return
        await query.message.edit_text(
            views.help_text(is_admin=is_admin),
            reply_markup=views.help_keyboard(services.callbacks.encode),
        )
        await query.answer()

    return on_help_button


def make_on_start_button(services: Services) -> CallbackRoute:
    async def on_start_button(client: Client, query: CallbackQuery, _: tuple[str, ...]) -> None:
        if query.message is None:
            await query.answer()
            return
        await query.message.edit_text(
            views.start_text(query.from_user.first_name or "", bot_username(client)),
            reply_markup=views.start_keyboard(services.callbacks.encode, bot_username(client)),
        )
        await query.answer()

    return on_start_button


def make_on_unknown_command() -> Callback:
    async def on_unknown_command(_client: Client, message: Message) -> None:
        await message.reply_text(views.UNKNOWN_COMMAND)

    return on_unknown_command

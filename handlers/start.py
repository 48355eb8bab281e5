"""/start and /help, and the Help/Back buttons that switch between them."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import CallbackQuery, Message

from core.services import Services
from handlers import views
from handlers.callbacks import CallbackRoute
from handlers.middleware import Callback

__all__ = ["make_on_help", "make_on_help_button", "make_on_start", "make_on_start_button"]


def _bot_username(client: Client) -> str:
    return client.me.username if client.me and client.me.username else "bot"


def make_on_start(services: Services) -> Callback:
    async def on_start(client: Client, message: Message) -> None:
        user = message.from_user
        if user is None:  # an anonymous group admin: nobody to greet
            return
        await services.users.seen(user.id, user.first_name or "", user.username)
        await message.reply_text(
            views.start_text(user.first_name or "", _bot_username(client)),
            reply_markup=views.start_keyboard(services.callbacks.encode, _bot_username(client)),
        )

    return on_start


def make_on_help(services: Services) -> Callback:
    async def on_help(_client: Client, message: Message) -> None:
        is_admin = message.from_user is not None and services.guards.is_admin(message.from_user.id)
        await message.reply_text(
            views.help_text(is_admin=is_admin, debug_enabled=services.settings.enable_debug_cmd)
        )

    return on_help


def make_on_help_button(services: Services) -> CallbackRoute:
    async def on_help_button(_client: Client, query: CallbackQuery, _: tuple[str, ...]) -> None:
        is_admin = services.guards.is_admin(query.from_user.id)
        if query.message is None:  # the message is too old to edit: just acknowledge
            await query.answer()
            return
        await query.message.edit_text(
            views.help_text(is_admin=is_admin, debug_enabled=services.settings.enable_debug_cmd),
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
            views.start_text(query.from_user.first_name or "", _bot_username(client)),
            reply_markup=views.start_keyboard(services.callbacks.encode, _bot_username(client)),
        )
        await query.answer()

    return on_start_button

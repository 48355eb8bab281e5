"""`register_handlers`: every handler, in one place, in the order updates should meet them."""

from __future__ import annotations

from pyrogram import Client, filters
from pyrogram.handlers import CallbackQueryHandler, MessageHandler

from core.services import Services
from handlers import admin, channel, search, start
from handlers.callbacks import make_on_callback
from handlers.middleware import Middleware

__all__ = ["register_handlers"]


def register_handlers(client: Client, services: Services, middleware: Middleware) -> None:
    """Register every handler, each wrapped by the middleware.

    Group 0 holds commands: Pyrogram stops at the first matching handler of a group, so a
    command never also reaches the text-search handlers added in later groups.
    Admin commands are registered for everyone: the guard answers non-admins with a clear
    "not allowed" instead of silently ignoring them.
    """
    wrap = middleware.wrap
    private = filters.private

    # Group 0: commands.
    client.add_handler(
        MessageHandler(wrap(start.make_on_start(services)), filters.command("start"))
    )
    client.add_handler(MessageHandler(wrap(start.make_on_help(services)), filters.command("help")))
    client.add_handler(
        MessageHandler(wrap(admin.make_on_stats(services)), filters.command("stats") & private)
    )
    client.add_handler(
        MessageHandler(wrap(admin.make_on_cache(services)), filters.command("cache") & private)
    )

    # Group 0, after the commands: any other private text is a search. Pyrogram stops at the
    # first matching handler of a group, so "/start" never reaches it; unknown "/commands" are
    # excluded by the filter rather than searched for.
    client.add_handler(
        MessageHandler(
            wrap(search.make_on_private_text(services)),
            private & filters.text & ~filters.regex(r"^/"),
        )
    )

    # Group 0: media posted in channels feed the search index.
    client.add_handler(
        MessageHandler(
            wrap(channel.make_on_channel_post(services)),
            filters.channel & (filters.document | filters.video | filters.audio),
        )
    )

    # Group 0: buttons, routed by their signed action.
    routes = {
        "help": start.make_on_help_button(services),
        "start": start.make_on_start_button(services),
        "pg": search.make_on_page_button(services),
        "sg": search.make_on_page_button(services),
        "f": search.make_on_file_button(services),
        "noop": search.on_noop_button,
    }
    client.add_handler(CallbackQueryHandler(wrap(make_on_callback(services, routes))))

"""`register_handlers`: every handler, in one place, in the order updates should meet them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pyrogram import Client, filters
from pyrogram.handlers import (
    CallbackQueryHandler,
    ChatJoinRequestHandler,
    ChatMemberUpdatedHandler,
    DeletedMessagesHandler,
    EditedMessageHandler,
    InlineQueryHandler,
    MessageHandler,
)

from handlers import admin as admin_cmds
from handlers import (
    broadcast,
    channel,
    groups,
    inline,
    library,
    links,
    member_views,
    members,
    search,
    start,
    subscription,
    views,
)
from handlers.callbacks import make_on_callback
from handlers.delivery import make_on_try_again
from handlers.middleware import Callback, Middleware
from services import Services

__all__ = ["register_handlers"]

T = TypeVar("T")


def register_handlers(
    client: Client, services: Services, middleware: Middleware, *, debug: bool = False
) -> None:
    """Register every handler, each wrapped by the middleware.

    Group 0 holds commands: Pyrogram stops at the first matching handler of a group, so a
    command never also reaches the text-search handlers added in later groups.
    Admin commands and buttons are registered for everyone: they are marked here (`admin(...)`
    and `admin_actions`), and the middleware (commands) and the callback router (buttons)
    answer non-admins with a clear "not allowed" instead of silently ignoring them.
    """
    wrap = middleware.wrap
    private = filters.private

    def build(factory: Callable[..., T], **given: Any) -> T:
        """Call a handler factory with the services its signature names (and `given`): each
        handler gets only what it uses."""
        wanted = inspect.signature(factory).parameters
        return factory(**{n: getattr(services, n) for n in wanted if n not in given}, **given)

    def admin(callback: Callback) -> Callback:
        return wrap(callback, admin=True)

    # Group 0: commands.
    client.add_handler(MessageHandler(wrap(build(start.make_on_start)), filters.command("start")))
    client.add_handler(
        MessageHandler(wrap(build(start.make_on_help, debug=debug)), filters.command("help"))
    )
    if debug:  # ENABLE_DEBUG_CMD: otherwise the command does not exist (it is unknown)
        client.add_handler(
            MessageHandler(
                admin(build(admin_cmds.make_on_debug_last)),
                filters.command("debug_last") & private,
            )
        )
    client.add_handler(
        MessageHandler(
            wrap(build(groups.make_on_autofilter)), filters.command("autofilter") & filters.group
        )
    )
    client.add_handler(
        MessageHandler(
            wrap(build(groups.make_on_settings)), filters.command("settings") & filters.group
        )
    )
    client.add_handler(
        MessageHandler(
            wrap(build(groups.make_on_new_members), record_user=False),
            filters.group & filters.new_chat_members,
        )
    )
    client.add_handler(
        MessageHandler(wrap(build(members.make_on_myplan)), filters.command("myplan") & private)
    )
    for name, make in (  # the admins' commands
        ("stats", admin_cmds.make_on_stats),
        ("cache", admin_cmds.make_on_cache),
        ("users", admin_cmds.make_on_users),
        ("chats", admin_cmds.make_on_chats),
        ("leave", admin_cmds.make_on_leave),
        ("delete", admin_cmds.make_on_delete),
        ("flags", admin_cmds.make_on_flags),
        ("flag", admin_cmds.make_on_flag),
        ("deleteall", admin_cmds.make_on_deleteall),
        ("ban", members.make_on_ban),
        ("unban", members.make_on_unban),
        ("banned", members.make_on_banned),
        ("user", members.make_on_user),
        ("premium", members.make_on_premium),
        ("broadcast", broadcast.make_on_broadcast),
        ("link", links.make_on_link),
        ("batch", links.make_on_batch),
        ("links", links.make_on_links),
        ("unlink", links.make_on_unlink),
        ("index", library.make_on_index),
        ("jobs", library.make_on_jobs),
        ("cancel", library.make_on_cancel),
        ("channels", library.make_on_channels),
        ("addchannel", library.make_on_addchannel),
        ("removechannel", library.make_on_removechannel),
        ("addfile", library.make_on_addfile),
    ):
        client.add_handler(MessageHandler(admin(build(make)), filters.command(name) & private))

    # Group 0, before searches: an admin's forwarded channel post or post link asks to index
    # that channel (anyone else's is searched for as usual).
    index_request = filters.create(lambda _, __, m: library.is_index_request(services.guards, m))
    client.add_handler(
        MessageHandler(admin(build(library.make_on_index_request)), private & index_request)
    )
    # An admin's file in private chat: indexed when forwarded from an indexed channel or in
    # /addfile mode (anyone else's files are none of the bot's business).
    from_admin = filters.create(
        lambda _, __, m: m.from_user is not None and services.guards.is_admin(m.from_user.id)
    )
    client.add_handler(
        MessageHandler(
            admin(build(library.make_on_admin_file)),
            private & from_admin & (filters.document | filters.video | filters.audio),
        )
    )

    # Group 0, after the commands: any other "/command" in private chat is answered as unknown
    # (in groups other bots' commands are none of our business: silence).
    client.add_handler(
        MessageHandler(
            wrap(start.make_on_unknown_command()), private & filters.text & filters.regex(r"^/")
        )
    )

    # Group 0, after the commands: any other private text is a search. Pyrogram stops at the
    # first matching handler of a group, so "/start" never reaches it; unknown "/commands" are
    # excluded by the filter rather than searched for.
    client.add_handler(
        MessageHandler(
            wrap(build(search.make_on_private_text)),
            private & filters.text & ~filters.regex(r"^/"),
        )
    )

    # Group 0: the auto-filter. New group text only: edits arrive as edited-message updates,
    # which no handler here takes; the rest of the rules are in `groups.is_search_candidate`.
    client.add_handler(
        MessageHandler(
            wrap(build(groups.make_on_group_text), addressed=groups.addressed),
            filters.group & filters.text & ~filters.regex(r"^/"),
        )
    )

    # Group 0: media posted in channels feed the search index; edits and deletions follow.
    media = filters.document | filters.video | filters.audio
    client.add_handler(
        MessageHandler(wrap(build(channel.make_on_channel_post)), filters.channel & media)
    )
    client.add_handler(
        EditedMessageHandler(wrap(build(channel.make_on_channel_edit)), filters.channel & media)
    )
    client.add_handler(
        DeletedMessagesHandler(wrap(build(channel.make_on_channel_delete)), filters.channel)
    )

    # Group 0: buttons, routed by their signed action.
    routes = {
        "help": build(start.make_on_help_button),
        "start": build(start.make_on_start_button),
        "pg": build(search.make_on_page_button),
        "sg": build(search.make_on_page_button),
        "f": build(search.make_on_file_button),
        "sa": build(search.make_on_send_all_button),
        "fs": build(make_on_try_again),
        "noop": search.on_noop_button,
        "ix": build(library.make_on_index_button),
        "ixn": library.make_on_decline_button(views.INDEX_NOT_STARTED),
        "jb": build(library.make_on_job_button),
        "rmc": build(library.make_on_remove_button),
        "rmn": library.make_on_decline_button(views.REMOVE_KEPT),
        "dl": build(admin_cmds.make_on_delete_button),
        "dln": library.make_on_decline_button(member_views.DELETE_KEPT),
        "gs": build(groups.make_on_settings_button),
        "bc": build(broadcast.make_on_broadcast_button),
        "bcn": build(broadcast.make_on_broadcast_cancel),
        "bj": build(broadcast.make_on_broadcast_cancel),
    }
    # The buttons that answer an admin's prompt, with what pressing them decides: each prompt
    # is decided once (handlers/callbacks.py).
    decisions = {
        "ix": "started",
        "ixn": "not started",
        "rmc": "removed",
        "rmn": "kept",
        "dl": "deleted",
        "dln": "kept",
        "bc": "sent",
        "bcn": "not sent",
    }
    # Buttons only admins may press (besides the prompts' buttons above).
    admin_actions = frozenset({"jb", "bj"})
    client.add_handler(
        CallbackQueryHandler(
            wrap(
                build(
                    make_on_callback,
                    routes=routes,
                    decisions=decisions,
                    admin_actions=admin_actions,
                )
            )
        )
    )

    # Group 0: the bot removed from a group (the log channel hears of it).
    client.add_handler(
        ChatMemberUpdatedHandler(wrap(build(groups.make_on_bot_membership), record_user=False))
    )

    # Group 0: `@bot title` in any chat.
    client.add_handler(InlineQueryHandler(wrap(build(inline.make_on_inline))))

    # Group 0: join requests to force-subscribe channels; the requester is not (yet) a user.
    client.add_handler(
        ChatJoinRequestHandler(wrap(build(subscription.make_on_join_request), record_user=False))
    )

"""`register_handlers`: every handler, in one place, in the order updates should meet them."""

from __future__ import annotations

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

    def admin(callback: Callback) -> Callback:
        return wrap(callback, admin=True)

    # Group 0: commands.
    client.add_handler(
        MessageHandler(wrap(start.make_on_start(services)), filters.command("start"))
    )
    client.add_handler(
        MessageHandler(wrap(start.make_on_help(services, debug=debug)), filters.command("help"))
    )
    if debug:  # ENABLE_DEBUG_CMD: otherwise the command does not exist (it is unknown)
        client.add_handler(
            MessageHandler(
                admin(admin_cmds.make_on_debug_last(services)),
                filters.command("debug_last") & private,
            )
        )
    client.add_handler(
        MessageHandler(
            wrap(groups.make_on_autofilter(services)), filters.command("autofilter") & filters.group
        )
    )
    client.add_handler(
        MessageHandler(
            wrap(groups.make_on_settings(services)), filters.command("settings") & filters.group
        )
    )
    client.add_handler(
        MessageHandler(
            wrap(groups.make_on_new_members(services), record_user=False),
            filters.group & filters.new_chat_members,
        )
    )
    client.add_handler(
        MessageHandler(wrap(members.make_on_myplan(services)), filters.command("myplan") & private)
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
        client.add_handler(MessageHandler(admin(make(services)), filters.command(name) & private))

    # Group 0, before searches: an admin's forwarded channel post or post link asks to index
    # that channel (anyone else's is searched for as usual).
    index_request = filters.create(lambda _, __, m: library.is_index_request(services, m))
    client.add_handler(
        MessageHandler(admin(library.make_on_index_request(services)), private & index_request)
    )
    # An admin's file in private chat: indexed when forwarded from an indexed channel or in
    # /addfile mode (anyone else's files are none of the bot's business).
    from_admin = filters.create(
        lambda _, __, m: m.from_user is not None and services.guards.is_admin(m.from_user.id)
    )
    client.add_handler(
        MessageHandler(
            admin(library.make_on_admin_file(services)),
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
            wrap(search.make_on_private_text(services)),
            private & filters.text & ~filters.regex(r"^/"),
        )
    )

    # Group 0: the auto-filter. New group text only: edits arrive as edited-message updates,
    # which no handler here takes; the rest of the rules are in `groups.is_search_candidate`.
    client.add_handler(
        MessageHandler(
            wrap(groups.make_on_group_text(services), addressed=groups.addressed),
            filters.group & filters.text & ~filters.regex(r"^/"),
        )
    )

    # Group 0: media posted in channels feed the search index; edits and deletions follow.
    media = filters.document | filters.video | filters.audio
    client.add_handler(
        MessageHandler(wrap(channel.make_on_channel_post(services)), filters.channel & media)
    )
    client.add_handler(
        EditedMessageHandler(wrap(channel.make_on_channel_edit(services)), filters.channel & media)
    )
    client.add_handler(
        DeletedMessagesHandler(wrap(channel.make_on_channel_delete(services)), filters.channel)
    )

    # Group 0: buttons, routed by their signed action.
    routes = {
        "help": start.make_on_help_button(services),
        "start": start.make_on_start_button(services),
        "pg": search.make_on_page_button(services),
        "sg": search.make_on_page_button(services),
        "f": search.make_on_file_button(services),
        "sa": search.make_on_send_all_button(services),
        "fs": make_on_try_again(services),
        "noop": search.on_noop_button,
        "ix": library.make_on_index_button(services),
        "ixn": library.make_on_decline_button(services, views.INDEX_NOT_STARTED),
        "jb": library.make_on_job_button(services),
        "rmc": library.make_on_remove_button(services),
        "rmn": library.make_on_decline_button(services, views.REMOVE_KEPT),
        "dl": admin_cmds.make_on_delete_button(services),
        "dln": library.make_on_decline_button(services, member_views.DELETE_KEPT),
        "gs": groups.make_on_settings_button(services),
        "bc": broadcast.make_on_broadcast_button(services),
        "bcn": broadcast.make_on_broadcast_cancel(services),
        "bj": broadcast.make_on_broadcast_cancel(services),
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
            wrap(make_on_callback(services, routes, decisions, admin_actions=admin_actions))
        )
    )

    # Group 0: the bot removed from a group (the log channel hears of it).
    client.add_handler(
        ChatMemberUpdatedHandler(wrap(groups.make_on_bot_membership(services), record_user=False))
    )

    # Group 0: `@bot title` in any chat.
    client.add_handler(InlineQueryHandler(wrap(inline.make_on_inline(services))))

    # Group 0: join requests to force-subscribe channels; the requester is not (yet) a user.
    client.add_handler(
        ChatJoinRequestHandler(wrap(subscription.make_on_join_request(services), record_user=False))
    )

"""Groups: the auto-filter (titles written in a group get results there) and its switch.

Results look like private chat, but file buttons are deep links: pressing one opens the bot in
private chat, where `/start f_<file>` delivers it through the same path as a file button (access
policy, force-subscribe, auto-delete). Searches that find nothing stay silent: a group's chatter
must not get a "no files" reply to every sentence; for the same reason banned users are ignored
in groups rather than told, message after message, that they are banned (the middleware drops
their group messages).
"""

from __future__ import annotations

from pyrogram import Client
from pyrogram.enums import ChatMemberStatus, ChatType
from pyrogram.types import CallbackQuery, ChatMemberUpdated, Message

from core.logging import get_logger
from core.utils.errors import SearchUnavailableError
from core.utils.validators import Validators
from handlers import group_views as gv
from handlers import log_views, views
from handlers.callbacks import STALE_BUTTON, CallbackRoute
from handlers.common import GROUP_TYPES, bot_username
from handlers.middleware import Callback
from services.autodelete import AutoDeleteService
from services.callbacks import CallbackCodec
from services.flags import FlagService
from services.groups import GroupService
from services.log_channel import LogChannel
from services.search import RESULTS_PREFIX, SearchService
from services.users import UserService

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "addressed",
    "is_search_candidate",
    "make_on_autofilter",
    "make_on_bot_membership",
    "make_on_group_text",
    "make_on_new_members",
    "make_on_settings",
    "make_on_settings_button",
]

log = get_logger(__name__)

MIN_LENGTH = 3
MAX_LENGTH = 100


def _kind(message: Message) -> str:
    return (
        "group"
        if message.chat is not None and message.chat.type is ChatType.GROUP
        else "supergroup"
    )


def is_search_candidate(message: Message, own_id: int | None) -> bool:
    """Whether a group message looks like a title someone wants: not a command, not a reply to
    somebody else, not sent through an inline bot or by a bot, 3 to 100 characters."""
    text = (message.text or "").strip()
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH or text.startswith("/"):
        return False
    if message.via_bot is not None or (message.from_user is not None and message.from_user.is_bot):
        return False
    if message.reply_to_message_id is not None:
        replied = message.reply_to_message
        replied_user = replied.from_user if replied is not None else None
        if replied_user is None or replied_user.id != own_id:  # a reply to another person
            return False
    return True


def addressed(client: Client, message: Message) -> bool:
    """For the middleware: only search candidates count against the sender's rate limit."""
    return is_search_candidate(message, client.me.id if client.me else None)


def make_on_group_text(
    *,
    auto_delete: AutoDeleteService,
    callbacks: CallbackCodec,
    flags: FlagService,
    groups: GroupService,
    search: SearchService,
    users: UserService,
) -> Callback:
    async def on_group_text(client: Client, message: Message) -> None:
        if message.chat is None or message.chat.id is None:
            return
        if not is_search_candidate(message, client.me.id if client.me else None):
            return
        title = message.chat.title or ""
        user_id = message.from_user.id if message.from_user else None
        settings = await groups.settings(message.chat.id, title, _kind(message))
        if not settings.autofilter:
            return
        checked = Validators.search_query(message.text)
        if not checked.ok or checked.value is None:
            return
        try:
            shown = await search.search_to_show(
                checked.value,
                suggest=settings.suggest,
                typos=await flags.enabled("typo_tolerance", user_id, "group", message.chat.id),
                quiet=True,
            )
        except SearchUnavailableError:  # a group is not told about every line while rebuilding
            log.info("group_search_skipped", reason="search index being rebuilt")
            return
        if shown is None:
            return  # chatter: no reply, and nothing written to the database
        page, token, suggestions = shown.page, shown.token, list(shown.suggestions)
        if message.from_user is not None:
            await users.searched(message.from_user.id)
        username = bot_username(client)
        if settings.results == "link" and page.total:
            sent = await message.reply_text(
                gv.results_link_text(page),
                reply_markup=gv.results_link_keyboard(
                    f"https://t.me/{username}?start={RESULTS_PREFIX}{token}"
                ),
            )
        else:
            sent = await message.reply_text(
                views.results_text(page),
                reply_markup=views.results_keyboard(
                    page,
                    token,
                    callbacks.encode,
                    suggestions,
                    bot_username=username,
                    send_all=await flags.enabled("send_all", user_id, "group", message.chat.id),
                ),
            )
        if settings.autodelete and sent is not None:
            await auto_delete.schedule_in(message.chat.id, sent.id, settings.autodelete)

    return on_group_text


def make_on_autofilter(*, groups: GroupService) -> Callback:
    """`/autofilter on|off` in a group, for the group's admins and the bot's admins."""

    async def on_autofilter(client: Client, message: Message) -> None:
        if message.chat is None or message.chat.id is None:
            return
        chat_id, title, kind = message.chat.id, message.chat.title or "", _kind(message)
        words = message.command or []
        argument = words[1].lower() if len(words) > 1 else ""
        if argument not in {"on", "off"}:
            enabled = await groups.autofilter(chat_id, title, kind)
            await message.reply_text(
                f"{views.autofilter_text(enabled=enabled)}\n{views.AUTOFILTER_USAGE}"
            )
            return
        if not await _may_configure(groups, message, chat_id):
            await message.reply_text(views.AUTOFILTER_ADMINS_ONLY)
            return
        enabled = argument == "on"
        await groups.set_autofilter(chat_id, title, kind, enabled=enabled)
        await message.reply_text(views.autofilter_text(enabled=enabled))

    return on_autofilter


async def _may_configure(groups: GroupService, message: Message, chat_id: int) -> bool:
    user = message.from_user
    if user is None:  # an anonymous admin posts as the group itself
        return message.sender_chat is not None and message.sender_chat.id == chat_id
    return await groups.may_configure(chat_id, user.id)


def make_on_settings(*, callbacks: CallbackCodec, groups: GroupService) -> Callback:
    """`/settings` in a group: the button panel, for the group's admins (and the bot's)."""

    async def on_settings(_client: Client, message: Message) -> None:
        if message.chat is None or message.chat.id is None:
            return
        chat_id, title = message.chat.id, message.chat.title or ""
        if not await _may_configure(groups, message, chat_id):
            await message.reply_text(gv.SETTINGS_ADMINS_ONLY)
            return
        settings = await groups.settings(chat_id, title, _kind(message))
        await message.reply_text(
            gv.group_settings_text(title),
            reply_markup=gv.group_settings_keyboard(settings, callbacks.encode),
        )

    return on_settings


def make_on_settings_button(*, callbacks: CallbackCodec, groups: GroupService) -> CallbackRoute:
    """A button of the panel: that setting moves to its next value."""

    async def on_settings_button(
        _client: Client, query: CallbackQuery, fields: tuple[str, ...]
    ) -> None:
        message = query.message
        chat = message.chat if message is not None else None
        if message is None or chat is None or chat.id is None or len(fields) != 1:
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        if chat.type not in GROUP_TYPES:  # a panel's button replayed under another message
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        if not await groups.may_configure(chat.id, query.from_user.id):
            await query.answer(gv.SETTINGS_ADMINS_ONLY, show_alert=True)
            return
        kind = "group" if chat.type is ChatType.GROUP else "supergroup"
        settings = await groups.toggle(chat.id, chat.title or "", kind, fields[0])
        await message.edit_text(
            gv.group_settings_text(chat.title or ""),
            reply_markup=gv.group_settings_keyboard(settings, callbacks.encode),
        )
        await query.answer()

    return on_settings_button


def make_on_new_members(*, groups: GroupService) -> Callback:
    """People joined a group: welcomed when the group's settings say so."""

    async def on_new_members(client: Client, message: Message) -> None:
        if message.chat is None or message.chat.id is None or not message.new_chat_members:
            return
        own_id = client.me.id if client.me else None
        people = [u for u in message.new_chat_members if not u.is_bot and u.id != own_id]
        if not people:
            return
        title = message.chat.title or ""
        settings = await groups.settings(message.chat.id, title, _kind(message))
        if settings.welcome:
            names = [u.first_name or "" for u in people]
            await message.reply_text(gv.welcome_text(names, bot_username(client)))

    return on_new_members


def make_on_bot_membership(*, groups: GroupService, log_channel: LogChannel) -> Callback:
    """The bot was removed from a group (or left it): recorded, and the log channel told."""

    async def on_bot_membership(client: Client, update: ChatMemberUpdated) -> None:
        own_id = client.me.id if client.me else None
        old, new = update.old_chat_member, update.new_chat_member
        either = new or old
        member = either.user if either is not None else None
        chat_id = update.chat.id if update.chat is not None else None
        if member is None or member.id != own_id or chat_id is None:
            return
        gone = new is None or new.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
        if gone and old is not None:
            title = update.chat.title or str(chat_id)
            await groups.left(chat_id)
            log_channel.post(log_views.log_removed_from_group(title, chat_id))

    return on_bot_membership

"""Search in private chat: results with pagination, suggestions, and file buttons."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import CallbackQuery, Message

from core.utils.validators import Validators
from handlers import views
from handlers.callbacks import CallbackRoute
from handlers.common import GROUP_TYPES, bot_username
from handlers.delivery import send_all
from handlers.middleware import Callback
from services.callbacks import CallbackCodec
from services.delivery import DeliveryService
from services.flags import FlagService
from services.search import SearchService
from services.users import UserService

__all__ = [
    "make_on_file_button",
    "make_on_page_button",
    "make_on_private_text",
    "make_on_send_all_button",
    "on_noop_button",
]


def make_on_private_text(
    *, callbacks: CallbackCodec, flags: FlagService, search: SearchService, users: UserService
) -> Callback:
    async def on_private_text(_client: Client, message: Message) -> None:
        checked = Validators.search_query(message.text)
        if not checked.ok or checked.value is None:
            await message.reply_text(views.bad_query_text(checked.message))
            return
        user_id = message.from_user.id if message.from_user else None
        typos = await flags.enabled("typo_tolerance", user_id, "private")
        shown = await search.search_to_show(checked.value, typos=typos)
        if message.from_user is not None:
            await users.searched(message.from_user.id)
        await message.reply_text(
            views.results_text(shown.page),
            reply_markup=views.results_keyboard(
                shown.page,
                shown.token,
                callbacks.encode,
                shown.suggestions,
                send_all=await flags.enabled("send_all", user_id, "private"),
            ),
        )

    return on_private_text


def make_on_page_button(
    *, callbacks: CallbackCodec, flags: FlagService, search: SearchService
) -> CallbackRoute:
    """Page buttons (token, page[, type]) and "did you mean" buttons (token: page 1) alike.

    In a group the file buttons stay deep links, so the page is rendered the group's way.
    """

    async def on_page_button(client: Client, query: CallbackQuery, fields: tuple[str, ...]) -> None:
        token = fields[0] if fields else ""
        number = Validators.page_number(fields[1]) if fields[1:] else 1
        kind = views.KIND_BY_CODE.get(fields[2]) if fields[2:] else None
        in_group = (
            query.message is not None
            and query.message.chat is not None
            and query.message.chat.type in GROUP_TYPES
        )
        chat = "group" if in_group else "private"
        user_id = query.from_user.id
        typos = await flags.enabled("typo_tolerance", user_id, chat)
        page = await search.page_for_token(token, max(1, number), kind=kind, typos=typos)
        if page is None or query.message is None:
            await query.answer(views.STALE_SEARCH, show_alert=True)
            return
        await query.message.edit_text(
            views.results_text(page),
            reply_markup=views.results_keyboard(
                page,
                token,
                callbacks.encode,
                bot_username=bot_username(client) if in_group else None,
                send_all=await flags.enabled("send_all", user_id, chat),
            ),
        )
        await query.answer()

    return on_page_button


def make_on_file_button(*, delivery: DeliveryService) -> CallbackRoute:
    async def on_file_button(
        _client: Client, query: CallbackQuery, fields: tuple[str, ...]
    ) -> None:
        await delivery.deliver(query.from_user.id, fields[0] if fields else "")
        await query.answer()

    return on_file_button


def make_on_send_all_button(*, delivery: DeliveryService, search: SearchService) -> CallbackRoute:
    """📥 Send all under a results page in private chat."""

    async def on_send_all(client: Client, query: CallbackQuery, fields: tuple[str, ...]) -> None:
        token = fields[0] if fields else ""
        number = Validators.page_number(fields[1]) if fields[1:] else 1
        kind = views.KIND_BY_CODE.get(fields[2]) if fields[2:] else None
        await query.answer()
        sent = await send_all(delivery, search, query.from_user.id, token, page=number, kind=kind)
        if sent is None:
            await client.send_message(query.from_user.id, views.STALE_SEARCH)

    return on_send_all


async def on_noop_button(_client: Client, query: CallbackQuery, _: tuple[str, ...]) -> None:
    """The "page x of y" label: nothing to do, but the spinner must stop."""
    await query.answer()

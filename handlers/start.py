"""/start and /help, and the Help/Back buttons that switch between them."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import CallbackQuery, Message

from core.utils.guards import Guards
from core.utils.validators import Validators
from handlers import views
from handlers.callbacks import CallbackRoute
from handlers.common import bot_username
from handlers.delivery import send_all
from handlers.links import open_link
from handlers.middleware import Callback
from services.batch import BatchDeliveries
from services.callbacks import CallbackCodec
from services.delivery import DeliveryService
from services.flags import FlagService
from services.links import LINK_PREFIX, LinkService
from services.search import RESULTS_PREFIX, SEARCH_TOKEN_LENGTH, SearchService
from services.subscription import SubscriptionService

__all__ = [
    "make_on_help",
    "make_on_help_button",
    "make_on_start",
    "make_on_start_button",
    "make_on_unknown_command",
]


def make_on_start(
    *,
    batches: BatchDeliveries,
    callbacks: CallbackCodec,
    delivery: DeliveryService,
    flags: FlagService,
    guards: Guards,
    links: LinkService,
    search: SearchService,
    subscription: SubscriptionService,
) -> Callback:
    """`/start`, and the deep links that arrive as `/start <payload>` in private chat:
    `f_<file>` delivers a file (group result buttons), `l_<code>` opens a share link,
    `s_<token>` shows a group's results, `subscribe` and `premium` come from inline mode's
    "switch to PM" button."""

    async def deep_link(client: Client, message: Message, payload: str) -> bool:
        """Act on a `/start` payload in private chat; False when it only deserves the greeting."""
        user_id = message.from_user.id if message.from_user else 0
        kind, _, rest = payload.partition("_")
        if kind == "f" and rest:
            await delivery.deliver(user_id, rest)
        elif f"{kind}_" == LINK_PREFIX and rest:
            await open_link(client, batches, delivery, links, user_id=user_id, code=rest)
        elif f"{kind}_" == RESULTS_PREFIX and rest:
            page = await search.page_for_token(rest, 1)
            if page is None:
                await message.reply_text(views.STALE_SEARCH)
            else:
                await message.reply_text(
                    views.results_text(page),
                    reply_markup=views.results_keyboard(
                        page,
                        rest,
                        callbacks.encode,
                        send_all=await flags.enabled("send_all", user_id, "private"),
                    ),
                )
        elif f"{kind}_" == views.SEND_ALL_PREFIX and len(rest) > SEARCH_TOKEN_LENGTH:
            token, place = rest[:SEARCH_TOKEN_LENGTH], rest[SEARCH_TOKEN_LENGTH + 1 :]
            number, _, code = place.partition("_")
            sent = await send_all(
                delivery,
                search,
                user_id,
                token,
                page=Validators.page_number(number),
                kind=views.KIND_BY_CODE.get(code),
            )
            if sent is None:
                await message.reply_text(views.STALE_SEARCH)
        elif payload == "subscribe":
            missing = await subscription.missing(user_id)
            if not missing:
                return False
            await delivery.ask_to_join(user_id, [c.chat_id for c in missing], None)
        elif payload == "premium":
            await message.reply_text(views.premium_text(guards.premium_info))
        else:
            return False
        return True

    async def on_start(client: Client, message: Message) -> None:
        user = message.from_user
        if user is None:  # an anonymous group admin: nobody to greet
            return
        payload = message.command[1] if message.command and len(message.command) > 1 else ""
        private = message.chat is not None and message.chat.id == user.id
        if private and payload and await deep_link(client, message, payload):
            return
        await message.reply_text(
            views.start_text(user.first_name or "", bot_username(client)),
            reply_markup=views.start_keyboard(callbacks.encode, bot_username(client)),
        )

    return on_start


def make_on_help(*, guards: Guards, debug: bool = False) -> Callback:
    async def on_help(_client: Client, message: Message) -> None:
        is_admin = message.from_user is not None and guards.is_admin(message.from_user.id)
        await message.reply_text(views.help_text(is_admin=is_admin, debug=debug))

    return on_help


def make_on_help_button(*, callbacks: CallbackCodec, guards: Guards) -> CallbackRoute:
    async def on_help_button(_client: Client, query: CallbackQuery, _: tuple[str, ...]) -> None:
        is_admin = guards.is_admin(query.from_user.id)
        if query.message is None:  # the message is too old to edit: just acknowledge
            await query.answer()
            return
        await query.message.edit_text(
            views.help_text(is_admin=is_admin),
            reply_markup=views.help_keyboard(callbacks.encode),
        )
        await query.answer()

    return on_help_button


def make_on_start_button(*, callbacks: CallbackCodec) -> CallbackRoute:
    async def on_start_button(client: Client, query: CallbackQuery, _: tuple[str, ...]) -> None:
        if query.message is None:
            await query.answer()
            return
        await query.message.edit_text(
            views.start_text(query.from_user.first_name or "", bot_username(client)),
            reply_markup=views.start_keyboard(callbacks.encode, bot_username(client)),
        )
        await query.answer()

    return on_start_button


def make_on_unknown_command() -> Callback:
    async def on_unknown_command(_client: Client, message: Message) -> None:
        await message.reply_text(views.UNKNOWN_COMMAND)

    return on_unknown_command

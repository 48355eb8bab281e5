"""What a delivery looks like in Telegram (`TelegramDeliveryScreen`, drawn for
`DeliveryService.deliver`), "Send all" and the "try again" button under the join buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyrogram import Client
from pyrogram.types import CallbackQuery

from handlers import views
from handlers.callbacks import CallbackRoute
from services.delivery import Delivered, Delivery, DeliveryService
from services.search import SearchService
from services.subscription import ChannelLink, SubscriptionService

__all__ = ["TelegramDeliveryScreen", "make_on_try_again", "send_all"]


class TelegramDeliveryScreen:
    """The messages of a delivery in private chat (a `DeliveryScreen`)."""

    def __init__(self, client: Client, encode: Callable[..., str]) -> None:
        self._client = client
        self._encode = encode

    async def file(self, user_id: int, delivery: Delivery) -> int | None:
        sent = await self._client.send_cached_media(
            user_id,
            delivery.file.file_id,
            caption=views.render_caption(delivery.caption_template, delivery.file),
            protect_content=delivery.protect_content,
        )
        return sent.id if sent is not None else None

    async def join_first(
        self,
        user_id: int,
        channels: Sequence[ChannelLink],
        file_id: str | None,
        *,
        request_mode: bool,
    ) -> None:
        retry = self._encode("fs", file_id) if file_id else self._encode("fs")
        await self._client.send_message(
            user_id,
            views.join_text(request_mode=request_mode),
            reply_markup=views.join_keyboard(channels, retry),
        )

    async def premium_only(self, user_id: int, info: str) -> None:
        await self._client.send_message(user_id, views.premium_text(info))

    def auto_delete_notice(self, minutes: int) -> str:
        return views.auto_delete_notice(minutes)


async def send_all(
    delivery: DeliveryService,
    search: SearchService,
    user_id: int,
    token: str,
    *,
    page: int = 1,
    kind: str | None = None,
) -> int | None:
    """ "Send all": every file of a results page (`DeliveryService.deliver_each`). How many
    files were sent; None when the results are no longer known."""
    found = await search.page_for_token(token, max(1, page), kind=kind)
    if found is None:
        return None
    return await delivery.deliver_each(user_id, [record.id for record in found.items])


def make_on_try_again(
    *, delivery: DeliveryService, subscription: SubscriptionService
) -> CallbackRoute:
    """ "Try again" under the join buttons: re-check now (not from the cache), then deliver."""

    async def on_try_again(_client: Client, query: CallbackQuery, fields: tuple[str, ...]) -> None:
        user_id = query.from_user.id
        outcome: Delivered | None
        if fields:
            outcome = await delivery.deliver(user_id, fields[0], fresh=True)
        else:
            missing = await subscription.missing(user_id, fresh=True)
            outcome = Delivered.JOIN_FIRST if missing else None
        if outcome is Delivered.JOIN_FIRST:
            await query.answer(views.JOIN_FIRST, show_alert=True)
            return
        if query.message is not None:
            await query.message.edit_text(
                views.SUBSCRIBED if outcome is Delivered.FILE else views.ALL_SET
            )
        await query.answer()

    return on_try_again

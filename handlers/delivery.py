"""The one way a file reaches a user in private chat: file buttons, deep links and "try again"
all call `send_file`, which asks `DeliveryService` (access policy, then force-subscribe) first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from pyrogram import Client
from pyrogram.types import CallbackQuery

from core.utils.errors import PremiumRequiredError, SubscriptionRequiredError
from core.utils.guards import Gate
from handlers import views
from handlers.callbacks import CallbackRoute
from services import Services

__all__ = ["Sent", "make_on_try_again", "send_all", "send_file", "send_join_request"]


class Sent(StrEnum):
    FILE = "file"
    JOIN_FIRST = "join_first"  # the join buttons were sent instead
    PREMIUM = "premium"  # the premium explanation was sent instead
    NOTHING = "nothing"  # no file was asked for, and nothing stands in the way


async def send_file(
    client: Client,
    services: Services,
    user_id: int,
    file_id: str,
    *,
    fresh: bool = False,
    link_gate: Gate | None = None,
    claim: Callable[[], Awaitable[None]] | None = None,
) -> Sent:
    """Deliver indexed file `file_id` (its unique id) to `user_id` in private chat.

    Refusals that need more than one line get their own message: join buttons with a "try
    again" button that carries the file, or the premium explanation. Other refusals (banned,
    unknown file) are raised for the middleware to answer on the update itself. A share link
    passes its override (`link_gate`) and `claim`, which counts the use once access is granted.
    """
    try:
        delivery = await services.delivery.prepare(
            user_id, file_id, fresh=fresh, link_gate=link_gate
        )
    except SubscriptionRequiredError as exc:
        if not fresh:  # "try again" answers with an alert instead of a second join message
            await send_join_request(client, services, user_id, exc.channels, file_id)
        return Sent.JOIN_FIRST
    except PremiumRequiredError:
        await client.send_message(user_id, views.premium_text(services.guards.premium_info))
        return Sent.PREMIUM
    if claim is not None:
        await claim()
    sent = await client.send_cached_media(
        user_id,
        delivery.file.file_id,
        caption=views.render_caption(delivery.caption_template, delivery.file),
        protect_content=delivery.protect_content,
    )
    await services.users.downloaded(user_id)
    if services.auto_delete.enabled and sent is not None:
        await services.auto_delete.schedule(user_id, sent.id)
        # The file has arrived: the notice must not turn that into an error. It is sent in the
        # background, where a FloodWait postpones it instead of failing this request.
        services.notices.post(user_id, views.auto_delete_notice(services.auto_delete.minutes))
    return Sent.FILE


async def send_all(
    client: Client,
    services: Services,
    user_id: int,
    token: str,
    *,
    page: int = 1,
    kind: str | None = None,
) -> int | None:
    """ "Send all": every file of a results page, one by one through `send_file` (each file
    meets the access policy), paced for the chat; stops at the first refusal (which was
    answered). How many files were sent; None when the results are no longer known."""
    found = await services.search.page_for_token(token, max(1, page), kind=kind)
    if found is None:
        return None
    sent = 0
    for record in found.items:
        if sent:
            await services.delivery.pace()
        if await send_file(client, services, user_id, record.id) is not Sent.FILE:
            break
        sent += 1
    return sent


async def send_join_request(
    client: Client,
    services: Services,
    user_id: int,
    channels: tuple[int | str, ...],
    file_id: str | None,
) -> None:
    """The "join first" message: one button per missing channel, and "try again" (which
    re-checks and then delivers `file_id`, if any)."""
    links = await services.subscription.links(channels)
    encode = services.callbacks.encode
    retry = encode("fs", file_id) if file_id else encode("fs")
    await client.send_message(
        user_id,
        views.join_text(request_mode=services.subscription.request_mode),
        reply_markup=views.join_keyboard(links, retry),
    )


def make_on_try_again(services: Services) -> CallbackRoute:
    """ "Try again" under the join buttons: re-check now (not from the cache), then deliver."""

    async def on_try_again(client: Client, query: CallbackQuery, fields: tuple[str, ...]) -> None:
        user_id = query.from_user.id
        if fields:
            outcome = await send_file(client, services, user_id, fields[0], fresh=True)
        else:
            missing = await services.subscription.missing(user_id, fresh=True)
            outcome = Sent.JOIN_FIRST if missing else Sent.NOTHING
        if outcome is Sent.JOIN_FIRST:
            await query.answer(views.JOIN_FIRST, show_alert=True)
            return
        if query.message is not None:
            await query.message.edit_text(
                views.SUBSCRIBED if outcome is Sent.FILE else views.ALL_SET
            )
        await query.answer()

    return on_try_again

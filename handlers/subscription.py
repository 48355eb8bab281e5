"""Join requests to force-subscribe channels (they count in AUTH_MODE=request)."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import ChatJoinRequest

from handlers.middleware import Callback
from services.subscription import SubscriptionService

__all__ = ["make_on_join_request"]


def make_on_join_request(*, subscription: SubscriptionService) -> Callback:
    """Record the request; approving it stays with the channel's admins."""

    async def on_join_request(_client: Client, request: ChatJoinRequest) -> None:
        if request.chat is None or request.chat.id is None or request.from_user is None:
            return
        await subscription.record_request(request.chat.id, request.from_user.id)

    return on_join_request

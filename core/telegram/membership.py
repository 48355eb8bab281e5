"""`MembershipSource` on a Pyrogram client: channel membership, titles and invite links."""

from __future__ import annotations

from pyrogram import Client, raw, utils
from pyrogram.enums import ChatMemberStatus
from pyrogram.errors import FloodWait, RPCError, UserNotParticipant

from core.logging import get_logger
from core.models import MemberStatus
from core.telegram.errors import code_for
from core.utils.errors import FloodWaitError, TelegramError

__all__ = ["PyrogramMembership"]

log = get_logger(__name__)

# Refusals that say the bot cannot check this chat at all (a configuration problem the operator
# is told about in the log): the user is let through. Anything else may pass (FloodWait, a
# timeout, Telegram's internal errors) and fails closed: the user is asked to try again.
_CANNOT_CHECK = frozenset(
    {"CHAT_ADMIN_REQUIRED", "CHANNEL_PRIVATE", "CHANNEL_INVALID", "PEER_ID_INVALID"}
)

_STATUSES: dict[ChatMemberStatus, MemberStatus] = {
    ChatMemberStatus.OWNER: "admin",
    ChatMemberStatus.ADMINISTRATOR: "admin",
    ChatMemberStatus.MEMBER: "member",
    ChatMemberStatus.BANNED: "kicked",
}


class PyrogramMembership:
    """Asks Telegram; the bot must be an admin of each force-subscribe channel."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def status(self, chat_id: int, user_id: int) -> MemberStatus:
        try:
            member = await self._client.get_chat_member(chat_id, user_id)
        except UserNotParticipant:
            return "left"
        except FloodWait as exc:
            wait = float(exc.value) if isinstance(exc.value, int | float) else 1.0
            raise FloodWaitError(wait, "get_chat_member") from exc
        except RPCError as exc:
            if exc.ID not in _CANNOT_CHECK:
                raise TelegramError(
                    str(exc.ID), "get_chat_member", specific_code=code_for(str(exc.ID))
                ) from exc
            log.error(  # noqa: TRY400 - an expected refusal; its id says it all
                "membership_check_failed", channel=chat_id, telegram_id=exc.ID
            )
            return "unknown"
        except (TimeoutError, OSError) as exc:
            raise TelegramError("TIMEOUT", "get_chat_member") from exc
        if member.status is ChatMemberStatus.RESTRICTED:  # restricted users may or may not be in
            return "member" if member.is_member else "left"
        return _STATUSES.get(member.status, "left")

    async def describe(self, chat: int | str) -> tuple[int, str, str | None] | None:
        try:
            peer = await self._client.resolve_peer(chat)
            if not isinstance(peer, raw.types.InputPeerChannel):
                log.error("auth_channel_not_a_channel", channel=str(chat))
                return None
            found = await self._client.invoke(
                raw.functions.channels.GetChannels(
                    id=[
                        raw.types.InputChannel(
                            channel_id=peer.channel_id, access_hash=peer.access_hash
                        )
                    ]
                )
            )
        except (RPCError, KeyError, ValueError) as exc:  # resolve_peer raises KeyError/ValueError
            log.error(  # noqa: TRY400 - a configuration problem, not a bug
                "auth_channel_unavailable", channel=str(chat), error=type(exc).__name__
            )
            return None
        channel = found.chats[0]
        title = str(getattr(channel, "title", "") or "channel")
        return utils.get_channel_id(channel.id), title, getattr(channel, "username", None)

    async def invite_link(self, chat_id: int, *, request: bool) -> str | None:
        try:
            link = await self._client.create_chat_invite_link(
                chat_id, name="File bot", creates_join_request=request
            )
        except RPCError as exc:
            log.error(  # noqa: TRY400 - usually missing admin rights
                "invite_link_failed", channel=chat_id, telegram_id=exc.ID
            )
            return None
        return link.invite_link if link is not None else None

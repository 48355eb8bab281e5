"""RPC handlers for users and chats: state, users, channels, participants, commands, links."""

from __future__ import annotations

from typing import Any

from pyrogram import raw
from pyrogram.errors import (
    ChatAdminRequired,
    PeerIdInvalid,
    UsernameNotOccupied,
    UserNotParticipant,
)

from testkit.double.state import (
    ZERO_CHANNEL_ID,
    DoubleState,
    _hash,
)


class ChatsRPC(DoubleState):
    """users.*, channels.*, bots.* and contacts.* RPCs."""

    def _get_state(self, _: Any) -> Any:
        return raw.types.updates.State(
            pts=self._pts, qts=0, date=self.clock.timestamp(), seq=0, unread_count=0
        )

    def _get_full_user(self, query: Any) -> Any:
        user_id = self._chat_id_of(query.id)
        user = self.users.get(user_id or 0)
        if user is None:
            raise PeerIdInvalid
        return raw.types.users.UserFull(
            full_user=raw.types.UserFull(
                id=user.id,
                settings=raw.types.PeerSettings(),
                notify_settings=raw.types.PeerNotifySettings(),
                common_chats_count=0,
            ),
            chats=[],
            users=[user.raw(is_self=user.id == self.bot.id)],
        )

    def _get_users(self, query: Any) -> Any:
        found = []
        for item in query.id:
            user = self.users.get(self._chat_id_of(item) or 0)
            if user is not None:
                found.append(user.raw(is_self=user.id == self.bot.id))
        return found

    def _get_channels(self, query: Any) -> Any:
        chats: list[Any] = [
            self.channels[c.channel_id].raw() for c in query.id if c.channel_id in self.channels
        ]
        return raw.types.messages.Chats(chats=chats)

    def _set_bot_commands(self, query: Any) -> bool:
        scope = query.scope
        if isinstance(scope, raw.types.BotCommandScopePeer):
            key = f"chat:{self._chat_id_of(scope.peer)}"
        else:
            key = type(scope).__name__.removeprefix("BotCommandScope").lower()
        self.commands[key] = [(c.command, c.description) for c in query.commands]
        return True

    def _resolve_username(self, query: Any) -> Any:
        wanted = query.username.lower()
        for user in self.users.values():
            if (user.username or "").lower() == wanted:
                peer = raw.types.PeerUser(user_id=user.id)
                return raw.types.contacts.ResolvedPeer(peer=peer, chats=[], users=[user.raw()])
        for channel in self.channels.values():
            if (channel.username or "").lower() == wanted:
                return raw.types.contacts.ResolvedPeer(
                    peer=channel.peer(), chats=[channel.raw()], users=[]
                )
        raise UsernameNotOccupied

    def _export_chat_invite(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.peer)
        if chat_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if not channel.bot_is_admin:
            raise ChatAdminRequired
        request = bool(query.request_needed)
        link = f"https://t.me/+{abs(_hash('invite', chat_id, len(self.invite_links))):x}"
        self.invite_links.append((chat_id, link, request))
        return raw.types.ChatInviteExported(
            link=link,
            admin_id=self.bot.id,
            date=self.clock.timestamp(),
            request_needed=request or None,
        )

    def _leave_channel(self, query: Any) -> Any:
        """channels.LeaveChannel: the bot leaves a group or channel for good."""
        chat_id = self._chat_id_of(query.channel)
        if chat_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if channel.bot_left:
            raise UserNotParticipant
        channel.bot_left = True
        return raw.types.Updates(updates=[], users=[], chats=[channel.raw()], date=0, seq=0)

    def _get_participant(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.channel)
        user_id = self._chat_id_of(query.participant)
        if chat_id is None or user_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if not channel.bot_is_admin:
            raise ChatAdminRequired
        status = channel.members.get(user_id, "left")
        date = self.clock.timestamp()
        participant: Any
        if status == "member":
            participant = raw.types.ChannelParticipant(user_id=user_id, date=date)
        elif status == "admin":
            participant = raw.types.ChannelParticipantAdmin(
                user_id=user_id,
                promoted_by=self.bot.id,
                date=date,
                admin_rights=raw.types.ChatAdminRights(post_messages=True),
            )
        elif status == "creator":
            participant = raw.types.ChannelParticipantCreator(
                user_id=user_id, admin_rights=raw.types.ChatAdminRights(post_messages=True)
            )
        elif status == "kicked":
            participant = raw.types.ChannelParticipantBanned(
                peer=raw.types.PeerUser(user_id=user_id),
                kicked_by=self.bot.id,
                date=date,
                banned_rights=raw.types.ChatBannedRights(until_date=0, view_messages=True),
            )
        else:
            raise UserNotParticipant
        return raw.types.channels.ChannelParticipant(
            participant=participant,
            chats=[channel.raw()],
            # Like Telegram: the member and whoever promoted or kicked them (here the bot).
            users=[self.users[u].raw() for u in {user_id, self.bot.id} if u in self.users],
        )

"""What users and channels do: the incoming side of the double (updates delivered to the bot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyrogram import raw

from testkit.double.limits import check_inline_query, check_user_text
from testkit.double.state import (
    ChannelState,
    DocumentState,
    DoubleState,
    StoredMessage,
    _hash,
    roundtrip,
)


class UserActions(DoubleState):
    """Users write, edit, press buttons, query inline and ask to join; channels post."""

    async def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        channel: ChannelState | None = None,
        reply_to: int | None = None,
    ) -> StoredMessage:
        """A user writes to the bot in private chat, or in a group (`channel` = the supergroup),
        optionally as a reply to message `reply_to` of that chat."""
        check_user_text(text)
        header = raw.types.MessageReplyHeader(reply_to_msg_id=reply_to) if reply_to else None
        if channel is None:
            message = await self._store(
                user_id, next(self._private_ids), text, out=False, sender=user_id, reply_to=header
            )
            update: Any = raw.types.UpdateNewMessage(
                message=message.raw, pts=self._next_pts(), pts_count=1
            )
            await self.deliver(update, users=[user_id])
        else:
            message = await self._in_channel(channel, text, sender=user_id, reply_to=header)
        return message

    async def _in_channel(
        self,
        channel: ChannelState,
        text: str,
        *,
        sender: int | None,
        reply_to: Any = None,
        document: DocumentState | None = None,
    ) -> StoredMessage:
        """A new message in a channel or supergroup, delivered to the bot."""
        message = await self._store(
            channel.id,
            self._next_channel_id(channel),
            text,
            out=False,
            sender=sender,
            reply_to=reply_to,
            document=document,
        )
        update = raw.types.UpdateNewChannelMessage(
            message=message.raw, pts=self._next_pts(), pts_count=1
        )
        users = [sender] if sender is not None else []
        if not channel.bot_left:
            await self.deliver(update, users=users, chats=[channel.raw_id])
        return message

    async def user_joins_group(self, user_id: int, channel: ChannelState) -> StoredMessage:
        """`user_id` joins the supergroup `channel`: a member now, and a service message
        ("joined the group") that the bot receives."""
        channel.members[user_id] = "member"
        message = raw.types.MessageService(
            id=self._next_channel_id(channel),
            peer_id=self._peer(channel.id),
            date=self.clock.timestamp(),
            action=raw.types.MessageActionChatAddUser(users=[user_id]),
            from_id=raw.types.PeerUser(user_id=user_id),
        )
        stored = StoredMessage(
            chat_id=channel.id,
            id=message.id,
            raw=roundtrip(message),
            parsed=await self._parse(message, channel.id, user_id),
            outgoing=False,
            sender_id=user_id,
        )
        self.messages.setdefault(channel.id, {})[message.id] = stored
        update = raw.types.UpdateNewChannelMessage(
            message=message, pts=self._next_pts(), pts_count=1
        )
        if not channel.bot_left:
            await self.deliver(update, users=[user_id], chats=[channel.raw_id])
        return stored

    async def user_edits(self, message: StoredMessage, text: str) -> StoredMessage:
        """The author of `message` (in a group or private chat) edits its text."""
        edited = await self._store(
            message.chat_id, message.id, text, out=False, sender=message.sender_id
        )
        edited.edited = True
        chats: list[int] = []
        if message.chat_id > 0:
            update: Any = raw.types.UpdateEditMessage(
                message=edited.raw, pts=self._next_pts(), pts_count=1
            )
        else:
            chats = [self.channel_by_chat_id(message.chat_id).raw_id]
            update = raw.types.UpdateEditChannelMessage(
                message=edited.raw, pts=self._next_pts(), pts_count=1
            )
        senders = [message.sender_id] if message.sender_id is not None else []
        await self.deliver(update, users=senders, chats=chats)
        return edited

    async def join_request(self, user_id: int, channel: ChannelState) -> None:
        """`user_id` asks to join `channel` through an invite link that needs approval; the bot,
        as an admin of the channel, is told (`UpdateBotChatInviteRequester`)."""
        channel.join_requests.add(user_id)
        links = [
            link for chat, link, request in self.invite_links if chat == channel.id and request
        ]
        invite = raw.types.ChatInviteExported(
            link=links[-1] if links else f"https://t.me/+request{channel.raw_id}",
            admin_id=self.bot.id,
            date=self.clock.timestamp(),
            request_needed=True,
        )
        update = raw.types.UpdateBotChatInviteRequester(
            peer=channel.peer(),
            date=self.clock.timestamp(),
            user_id=user_id,
            about="",
            invite=invite,
            qts=self._next_pts(),
        )
        await self.deliver(update, users=[user_id, self.bot.id], chats=[channel.raw_id])

    async def channel_posts(
        self, channel: ChannelState, document: DocumentState | None, caption: str = ""
    ) -> StoredMessage:
        return await self._in_channel(channel, caption, sender=None, document=document)

    async def channel_history(
        self,
        channel: ChannelState,
        document: DocumentState | None,
        caption: str = "",
        *,
        media: Any = None,
        reply_to: Any = None,
    ) -> StoredMessage:
        """A post made before the bot was in the channel: stored, never delivered to the bot
        (it can only fetch it by id). `media`: any raw media instead of `document`."""
        return await self._store(
            channel.id,
            self._next_channel_id(channel),
            caption,
            out=False,
            document=document,
            media=media,
            reply_to=reply_to,
            sender=None,
        )

    async def user_forwards(self, user_id: int, post: StoredMessage) -> StoredMessage:
        """A user forwards a channel post to the bot in private chat (its text or caption, with
        the forward header naming the channel and the post)."""
        channel = self.channel_by_chat_id(post.chat_id)
        header = raw.types.MessageFwdHeader(
            date=post.raw.date, from_id=channel.peer(), channel_post=post.id
        )
        message = await self._store(
            user_id,
            next(self._private_ids),
            post.raw.message or "",
            out=False,
            sender=user_id,
            fwd_from=header,
            media=post.raw.media,
        )
        update = raw.types.UpdateNewMessage(message=message.raw, pts=self._next_pts(), pts_count=1)
        await self.deliver(update, users=[user_id], chats=[channel.raw_id])
        return message

    async def user_sends_document(
        self, user_id: int, document: DocumentState, caption: str = ""
    ) -> StoredMessage:
        """A user sends the bot a file in private chat."""
        message = await self._store(
            user_id, next(self._private_ids), caption, out=False, sender=user_id, document=document
        )
        update = raw.types.UpdateNewMessage(message=message.raw, pts=self._next_pts(), pts_count=1)
        await self.deliver(update, users=[user_id])
        return message

    async def channel_edits_post(self, message: StoredMessage, caption: str) -> StoredMessage:
        """The channel's admin edits a post's caption (its file stays): the bot, an admin of
        the channel, gets `UpdateEditChannelMessage`."""
        channel = self.channel_by_chat_id(message.chat_id)
        edited_raw = roundtrip(message.raw)
        edited_raw.message = caption
        edited_raw.edit_date = self.clock.timestamp()
        edited = StoredMessage(
            chat_id=message.chat_id,
            id=message.id,
            raw=edited_raw,
            parsed=await self._parse(edited_raw, message.chat_id, None),
            outgoing=False,
            sender_id=None,
            edited=True,
        )
        self.messages[message.chat_id][message.id] = edited
        update = raw.types.UpdateEditChannelMessage(
            message=edited_raw, pts=self._next_pts(), pts_count=1
        )
        await self.deliver(update, users=[], chats=[channel.raw_id])
        return edited

    async def bot_removed(self, channel: ChannelState, by: int) -> None:
        """An admin (`by`) removes the bot from a group or channel: the bot is told once
        (`UpdateChannelParticipant` about itself) and sees nothing of the chat afterwards."""
        now = self.clock.timestamp()
        update = raw.types.UpdateChannelParticipant(
            channel_id=channel.raw_id,
            date=now,
            actor_id=by,
            user_id=self.bot.id,
            qts=self._next_pts(),
            prev_participant=raw.types.ChannelParticipantAdmin(
                user_id=self.bot.id,
                promoted_by=by,
                date=now,
                admin_rights=raw.types.ChatAdminRights(),
                can_edit=None,
            ),
            new_participant=None,
        )
        channel.bot_left = True
        await self.deliver(update, users=[by, self.bot.id], chats=[channel.raw_id])

    async def channel_deletes_posts(
        self, channel: ChannelState, message_ids: list[int], *, notify: bool = True
    ) -> None:
        """The channel's admin deletes posts: `UpdateDeleteChannelMessages` (ids only), unless
        `notify` is False (deleted before the bot was in the channel)."""
        for message_id in message_ids:
            self._find(channel.id, message_id).deleted = True
        if not notify:
            return
        update = raw.types.UpdateDeleteChannelMessages(
            channel_id=channel.raw_id,
            messages=message_ids,
            pts=self._next_pts(),
            pts_count=len(message_ids),
        )
        await self.deliver(update, users=[], chats=[channel.raw_id])

    async def press(self, user_id: int, message: StoredMessage, data: bytes) -> int:
        """A user presses an inline button; returns the callback query id."""
        (query_id,) = await self.press_together([(user_id, message, data)])
        return query_id

    async def press_together(
        self, presses: Sequence[tuple[int, StoredMessage, bytes]]
    ) -> list[int]:
        """Several presses (user, message, button data) in one `Updates` batch, as Telegram
        sends presses that arrive together: Pyrogram's workers handle them at the same time.
        Returns their callback query ids."""
        updates: list[Any] = []
        users: dict[int, None] = {self.bot.id: None}
        chats: dict[int, None] = {}
        for user_id, message, data in presses:
            if message.chat_id > 0:
                peer: Any = raw.types.PeerUser(user_id=message.chat_id)
            else:
                channel = self.channel_by_chat_id(message.chat_id)
                peer = channel.peer()
                chats[channel.raw_id] = None
            users[user_id] = None
            updates.append(
                raw.types.UpdateBotCallbackQuery(
                    query_id=next(self._query_ids),
                    user_id=user_id,
                    peer=peer,
                    msg_id=message.id,
                    chat_instance=_hash("instance", message.chat_id),
                    data=data,
                )
            )
        await self.deliver_all(updates, users=users, chats=chats)
        return [update.query_id for update in updates]

    async def inline_query(self, user_id: int, query: str, offset: str = "") -> int:
        check_inline_query(query)
        query_id = next(self._query_ids)
        update = raw.types.UpdateBotInlineQuery(
            query_id=query_id,
            user_id=user_id,
            query=query,
            offset=offset,
            peer_type=raw.types.InlineQueryPeerTypeSameBotPM(),
        )
        await self.deliver(update, users=[user_id])
        return query_id

"""RPC handlers for messages: send, edit, delete, forward, get."""

from __future__ import annotations

from typing import Any

from pyrogram import raw
from pyrogram.errors import (
    ChatAdminRequired,
    FilePartsInvalid,
    MediaEmpty,
    MessageNotModified,
    PeerIdInvalid,
)

from testkit.double.state import (
    ZERO_CHANNEL_ID,
    DocumentState,
    DoubleState,
    UnknownRPCError,
    roundtrip,
)


class MessagesRPC(DoubleState):
    """messages.* and channels.* RPCs on messages."""

    async def _send(self, query: Any, document: DocumentState | None = None) -> Any:
        """Store what the bot sends (text or a cached document) and answer like Telegram."""
        chat_id = self._writable_chat(query.peer)
        stored = await self._store(
            chat_id,
            self._new_id(chat_id),
            query.message,
            out=True,
            sender=self.bot.id,
            entities=query.entities,
            reply_markup=query.reply_markup,
            document=document,
            noforwards=query.noforwards,
        )
        return self._updates_for(stored, random_id=query.random_id)

    async def _send_message(self, query: Any) -> Any:
        return await self._send(query)

    def _save_file_part(self, query: Any) -> bool:
        """upload.SaveFilePart / SaveBigFilePart: one part of a file the bot uploads."""
        self.uploads.setdefault(query.file_id, {})[query.file_part] = bytes(query.bytes)
        return True

    async def _send_media(self, query: Any) -> Any:
        self._writable_chat(query.peer)
        media = query.media
        if isinstance(media, raw.types.InputMediaUploadedDocument):
            return await self._send(query, self._uploaded(media))
        if not isinstance(media, raw.types.InputMediaDocument) or not isinstance(
            media.id, raw.types.InputDocument
        ):
            raise UnknownRPCError(f"messages.SendMedia with {type(media).__name__}")
        document = self.documents.get(media.id.id)
        if document is None or document.access_hash != media.id.access_hash:
            raise MediaEmpty
        return await self._send(query, document)

    def _uploaded(self, media: Any) -> DocumentState:
        """The document a finished upload makes (its parts joined in order)."""
        parts = self.uploads.pop(media.file.id, {})
        if len(parts) != media.file.parts:
            raise FilePartsInvalid
        content = b"".join(parts[i] for i in sorted(parts))
        name = next(
            (
                a.file_name
                for a in media.attributes
                if isinstance(a, raw.types.DocumentAttributeFilename)
            ),
            media.file.name,
        )
        document = self.make_document(name, len(content), media.mime_type, "document")
        document.content = content
        return document

    def _update_pinned_message(self, query: Any) -> Any:
        """messages.UpdatePinnedMessage: the chat's pinned message (`pinned[chat_id]`)."""
        chat_id = self._writable_chat(query.peer)
        self._find(chat_id, query.id)
        if query.unpin:
            self.pinned.pop(chat_id, None)
        else:
            self.pinned[chat_id] = query.id
        return raw.types.Updates(updates=[], users=[], chats=[], date=0, seq=0)

    async def _edit_message(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.peer)
        if chat_id is None:
            raise PeerIdInvalid
        stored = self._find(chat_id, query.id)
        text = query.message if query.message is not None else stored.raw.message
        # As Telegram does: an edit without a keyboard removes the one the message had.
        markup = query.reply_markup
        entities = query.entities if query.message is not None else stored.raw.entities
        if (
            text == stored.raw.message
            and roundtrip(markup) == roundtrip(stored.raw.reply_markup)
            and (entities or []) == (stored.raw.entities or [])
        ):
            raise MessageNotModified
        message = stored.raw
        message.message = text
        message.entities = entities or None
        message.reply_markup = markup
        message.edit_date = self.clock.timestamp()
        stored.raw = roundtrip(message)
        stored.parsed = await self._parse(stored.raw, chat_id, stored.sender_id)
        stored.edited = True
        stored.version += 1
        return self._updates_for(stored, edit=True)

    def _delete_messages(self, query: Any) -> Any:
        count = 0
        for chat_id, messages in self.messages.items():
            if chat_id < 0:
                continue
            for message_id in query.id:
                stored = messages.get(message_id)
                if stored is not None and not stored.deleted:
                    stored.deleted = True
                    count += 1
        return raw.types.messages.AffectedMessages(pts=self._next_pts(), pts_count=count)

    def _delete_channel_messages(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.channel)
        if chat_id is None or chat_id not in self.messages:
            raise PeerIdInvalid
        count = 0
        for message_id in query.id:
            stored = self.messages[chat_id].get(message_id)
            if stored is not None and not stored.deleted:
                stored.deleted = True
                count += 1
        return raw.types.messages.AffectedMessages(pts=self._next_pts(), pts_count=count)

    async def _forward_messages(self, query: Any) -> Any:
        source = self._chat_id_of(query.from_peer)
        target = self._writable_chat(query.to_peer)
        if source is None:
            raise PeerIdInvalid
        updates: list[Any] = []
        users: dict[int, Any] = {}
        chats: dict[int, Any] = {}
        for message_id, random_id in zip(query.id, query.random_id, strict=True):
            original = self._find(source, message_id)
            media = original.raw.media
            document = None
            if isinstance(media, raw.types.MessageMediaDocument) and media.document is not None:
                document = self.documents.get(media.document.id)
            stored = await self._store(
                target,
                self._new_id(target),
                original.raw.message,
                out=True,
                sender=self.bot.id,
                entities=original.raw.entities,
                document=document,
                noforwards=query.noforwards,
            )
            envelope = self._updates_for(stored, random_id=random_id)
            updates += envelope.updates
            users.update({u.id: u for u in envelope.users})
            chats.update({c.id: c for c in envelope.chats})
        return self._envelope(updates, list(users.values()), list(chats.values()))

    def _message_list(self, chat_id: int, ids: list[Any]) -> tuple[list[Any], set[int]]:
        found: list[Any] = []
        senders: set[int] = set()
        for item in ids:
            message_id = getattr(item, "id", None)
            if isinstance(item, raw.types.InputMessageReplyTo):  # "the message `id` replies to"
                replying = self.messages.get(chat_id, {}).get(item.id)
                header = getattr(replying.raw, "reply_to", None) if replying else None
                message_id = getattr(header, "reply_to_msg_id", None)
            stored = self.messages.get(chat_id, {}).get(message_id or 0)
            if stored is None or stored.deleted:
                found.append(raw.types.MessageEmpty(id=message_id or 0))
            else:
                found.append(stored.raw)
                if stored.sender_id is not None:
                    senders.add(stored.sender_id)
        return found, senders

    def _get_channel_messages(self, query: Any) -> Any:
        chat_id = self._chat_id_of(query.channel)
        if chat_id is None or ZERO_CHANNEL_ID - chat_id not in self.channels:
            raise PeerIdInvalid
        channel = self.channel_by_chat_id(chat_id)
        if not channel.bot_is_admin:
            raise ChatAdminRequired
        found, senders = self._message_list(chat_id, query.id)
        return raw.types.messages.ChannelMessages(
            pts=self._pts,
            count=len(found),
            messages=found,
            topics=[],
            chats=[channel.raw()],
            users=[self.users[s].raw() for s in senders if s in self.users],
        )

    def _get_messages(self, query: Any) -> Any:
        found: list[Any] = []
        for chat_id in [c for c in self.messages if c > 0]:
            hits, _ = self._message_list(chat_id, query.id)
            found += [m for m in hits if not isinstance(m, raw.types.MessageEmpty)]
        return raw.types.messages.Messages(
            messages=found, topics=[], chats=[], users=[u.raw() for u in self.users.values()]
        )

"""`Sender` for broadcasts on a Pyrogram client: the admin's message copied (or its text sent)
to each recipient through a `TelegramAPI` paced just under Telegram's overall limit."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.enums import ParseMode
from pyrogram.types import Message

from core.models import Outcome
from core.telegram.api_wrapper import RateLimits, TelegramAPI

__all__ = ["BROADCAST_LIMITS", "PyrogramBroadcastSender"]

BROADCAST_LIMITS = RateLimits(global_per_second=29.0, global_burst=1.0, max_total_wait=0.0)
"""Telegram allows about 30 messages a second overall: 29 evenly spaced never exceed it in any
one-second window, and reach 96.7 % of it. A FloodWait longer than Pyrogram sleeps through by
itself goes to the broadcaster (`max_total_wait=0`), which waits it out for the whole batch and
shows the wait in the progress message."""


class PyrogramBroadcastSender:
    def __init__(self, client: Client, api: TelegramAPI) -> None:
        self._client = client
        self._api = api
        self._message: Message | None = None
        self._text: str | None = None

    async def load(self, params: dict[str, object]) -> str | None:
        """Read the admin's message; a reason when it cannot be broadcast."""
        admin_chat, source = params.get("admin_chat"), params.get("source_message")
        if not isinstance(admin_chat, int) or not isinstance(source, int):
            return "the broadcast has no message"
        message = await self._client.get_messages(admin_chat, source)
        if not isinstance(message, Message) or message.empty:
            return "the message to broadcast was deleted"
        self._message, self._text = message, None
        if params.get("text_only"):
            words = 3 if params.get("pin") else 2  # /broadcast, audience[, pin], then the text
            parts = (message.text or "").split(maxsplit=words)
            if len(parts) <= words:
                return "the broadcast has no text"
            self._text = parts[words]
        return None

    async def send(self, chat_id: int, *, pin: bool) -> Outcome:
        result = await self._api.call("copy_message", chat_id, lambda: self._send(chat_id))
        if not result.ok:
            return Outcome.BLOCKED  # blocked, deactivated, or the bot may not write there
        sent = result.value
        if pin and isinstance(sent, Message):
            await self._api.call(
                "pin_chat_message",
                chat_id,
                lambda: self._client.pin_chat_message(chat_id, sent.id, disable_notification=True),
            )
        return Outcome.SENT

    async def _send(self, chat_id: int) -> Message | None:
        if self._text is not None:
            return await self._client.send_message(
                chat_id, self._text, parse_mode=ParseMode.DISABLED
            )
        if self._message is None:  # pragma: no cover - `load` comes first
            raise RuntimeError("the broadcast message was not loaded")
        copied = await self._message.copy(chat_id)
        return copied if isinstance(copied, Message) else None

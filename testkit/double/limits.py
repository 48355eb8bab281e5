"""Faults injected on purpose (`fail`, `flood_wait`) and Telegram's limits (send rates, input
sizes), which the double enforces like Telegram."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyrogram.errors import ButtonDataInvalid, FloodWait, MediaCaptionTooLong, MessageTooLong

from testkit.clock import VirtualClock


@dataclass
class Fault:
    method: str | None
    chat_id: int | None
    error: Callable[[], BaseException]
    remaining: int
    after: int = 0  # matching calls let through before the fault starts


class RateEnforcer:
    """Telegram-like limits: 1 msg/s per private chat, 20/min per group, 30/s overall."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._sent: dict[int | None, deque[float]] = {}

    def check(self, chat_id: int) -> None:
        now = self._clock.monotonic()
        window, limit = (1.0, 1) if chat_id > 0 else (60.0, 20)
        for key, win, lim in ((chat_id, window, limit), (None, 1.0, 30)):
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - win:
                sent.popleft()
            if len(sent) >= lim:
                raise FloodWait(value=max(1, int(sent[0] + win - now + 0.999)))
        for key in (chat_id, None):
            self._sent[key].append(now)


SENDING = {
    "messages.SendMessage",
    "messages.SendMedia",
    "messages.ForwardMessages",
}


MAX_MESSAGE = 4096  # characters of a text message (UTF-16 code units, as Telegram counts)
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_INLINE_QUERY = 256  # characters a client lets a user type after @bot
MAX_SWITCH_PM_TEXT = 64


def _length(text: str | None) -> int:
    return len((text or "").encode("utf-16-le")) // 2


def check_input_limits(name: str, query: Any) -> None:
    """Raise what Telegram raises when the bot sends more than it accepts."""
    text = getattr(query, "message", None)
    if name in {"messages.SendMessage", "messages.EditMessage"} and _length(text) > MAX_MESSAGE:
        raise MessageTooLong
    if name == "messages.SendMedia" and _length(text) > MAX_CAPTION:
        raise MediaCaptionTooLong
    markup = getattr(query, "reply_markup", None)
    for row in getattr(markup, "rows", None) or []:
        for button in row.buttons:
            data = getattr(getattr(button, "type", button), "data", None)
            if isinstance(data, bytes) and len(data) > MAX_CALLBACK_DATA:
                raise ButtonDataInvalid
    switch = getattr(query, "switch_pm", None)
    if switch is not None and _length(getattr(switch, "text", "")) > MAX_SWITCH_PM_TEXT:
        raise ButtonDataInvalid


def check_user_text(text: str) -> None:
    """A Telegram client does not let a user send more than one message's worth."""
    if _length(text) > MAX_MESSAGE:
        raise ValueError(f"a Telegram message holds at most {MAX_MESSAGE} characters")
    if not text:
        raise ValueError("a Telegram client does not send an empty message")


def check_inline_query(query: str) -> None:
    if _length(query) > MAX_INLINE_QUERY:
        raise ValueError(f"an inline query holds at most {MAX_INLINE_QUERY} characters")

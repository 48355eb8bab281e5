"""Confirmations decided once: the first press of a prompt's buttons decides it for good."""

from __future__ import annotations

from core.clock import Clock
from core.logging import get_logger
from services.ports import PromptRepository

__all__ = ["PromptDecisions"]

log = get_logger(__name__)


class PromptDecisions:
    """A prompt is a message with buttons that ask once (▶️ Start / Not now, 📣 Send /
    ✖️ Cancel, 🗑 Delete / Keep, Remove / Keep). Its decision is stored, so a second press,
    by anyone, from any client, finds it taken instead of acting again."""

    def __init__(self, prompts: PromptRepository, clock: Clock) -> None:
        self._prompts = prompts
        self._clock = clock

    async def decide(self, chat_id: int, message_id: int, decision: str, by: int) -> str | None:
        """None when this press decides the prompt; else the decision taken before."""
        earlier = await self._prompts.decide(chat_id, message_id, decision, by, self._clock.now())
        if earlier is not None:
            log.info("prompt_already_decided", decision=earlier, pressed=decision, by=by)
        return earlier

    async def forget(self, chat_id: int, message_id: int) -> None:
        """The action the decision started failed: the prompt is open again."""
        await self._prompts.forget(chat_id, message_id)

"""Delivery: the one path that hands a file out (access policy first, then what to send)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.models import FileRecord
from core.utils.errors import AppError, NotFoundError
from core.utils.guards import Gate, Guards, Reason
from services.ports import FileRepository
from services.subscription import SubscriptionService

__all__ = ["SEND_ALL_INTERVAL", "Delivery", "DeliveryService", "file_gate"]

SEND_ALL_INTERVAL = 1.1  # seconds between files of one "Send all"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What to send: a cached Telegram file, the caption template to render it with (the
    handlers' views fill it in), and whether Telegram should protect it from forwarding."""

    file: FileRecord
    caption_template: str
    protect_content: bool = False


def file_gate(record: FileRecord) -> Gate | None:
    """The file's own premium override, if it has one."""
    return Gate(record.premium) if record.premium in {"free", "premium"} else None


class DeliveryService:
    """Every path that hands out a file asks here first: the access policy (admin > ban >
    premium), then force-subscribe. Handlers only send what `prepare` returns."""

    def __init__(
        self,
        files: FileRepository,
        guards: Guards,
        *,
        subscription: SubscriptionService | None = None,
        caption_template: str = "<b>{file_name}</b>\n{file_size}",
        protect_content: bool = False,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._sleep = sleep
        self._files = files
        self._guards = guards
        self._subscription = subscription
        self._template = caption_template
        self._protect = protect_content

    @property
    def gated(self) -> bool:
        """Whether who asks can change what they get (premium gate or force-subscribe)."""
        subscribing = self._subscription is not None and self._subscription.enabled
        return subscribing or self._guards.global_gate is Gate.PREMIUM

    async def refusal(
        self,
        user_id: int,
        *,
        gate: Gate | None = None,
        link_gate: Gate | None = None,
        fresh: bool = False,
    ) -> AppError | None:
        """Why `user_id` may not receive content behind `gate` (None: the global gate), or None.

        The access policy comes first, so banned users never see "join" buttons; then
        force-subscribe (`fresh` skips the membership cache, for "try again").
        """
        user = await self._guards.user(user_id)
        decision = self._guards.decide(user_id, user, link_gate=link_gate, file_gate=gate)
        if decision.allowed and decision.reason is not Reason.ADMIN and self._subscription:
            # Membership is asked of Telegram only when nothing else stands in the way.
            missing = await self._subscription.missing(user_id, fresh=fresh)
            channels = tuple(c.chat_id for c in missing)
            decision = self._guards.decide(
                user_id, user, link_gate=link_gate, file_gate=gate, missing_channels=channels
            )
        return decision.error()

    async def prepare(
        self,
        user_id: int,
        file_unique_id: str,
        *,
        fresh: bool = False,
        link_gate: Gate | None = None,
    ) -> Delivery:
        """Check access for this user and file (`link_gate`: the override of the share link it
        was asked through); raise the refusal as an `AppError`."""
        record = await self._files.get(file_unique_id)
        if record is None:
            raise NotFoundError("file", user_message="This file is no longer available.")
        error = await self.refusal(
            user_id, gate=file_gate(record), link_gate=link_gate, fresh=fresh
        )
        if error is not None:
            raise error
        return self.delivery_of(record)

    async def pace(self) -> None:
        """The pause between files sent to one chat in a row ("Send all"): Telegram allows
        about one message a second per private chat."""
        if self._sleep is not None:
            await self._sleep(SEND_ALL_INTERVAL)

    def delivery_of(self, record: FileRecord) -> Delivery:
        return Delivery(record, self._template, self._protect)

    async def visible(self, user_id: int, records: Sequence[FileRecord]) -> list[FileRecord]:
        """The records `user_id` may receive (one user lookup for all of them); for inline
        answers, which hand files out directly."""
        user = await self._guards.user(user_id)
        return [
            r for r in records if self._guards.decide(user_id, user, file_gate=file_gate(r)).allowed
        ]

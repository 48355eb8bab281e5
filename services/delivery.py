"""Delivery: the one path that hands a file out in private chat (access policy first, then
force-subscribe, then the file, its download count and its auto-delete). File buttons, deep
links, share links, "try again", "Send all" and batch links all call `DeliveryService.deliver`;
what the user sees is drawn by a `DeliveryScreen` (the handlers' Telegram views)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.models import FileRecord
from core.utils.errors import AccessError, NotFoundError
from core.utils.guards import Decision, Gate, Guards, Reason
from services.autodelete import AutoDeleteService
from services.notices import Notices
from services.ports import FileRepository
from services.subscription import ChannelLink, SubscriptionService
from services.users import UserService

__all__ = [
    "SEND_ALL_INTERVAL",
    "Delivered",
    "Delivery",
    "DeliveryScreen",
    "DeliveryService",
    "file_gate",
]

SEND_ALL_INTERVAL = 1.1  # seconds between files of one "Send all"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What to send: a cached Telegram file, the caption template to render it with (the
    handlers' views fill it in), and whether Telegram should protect it from forwarding."""

    file: FileRecord
    caption_template: str
    protect_content: bool = False


class Delivered(StrEnum):
    """What `deliver` did."""

    FILE = "file"
    JOIN_FIRST = "join_first"  # the join buttons were sent instead
    PREMIUM = "premium"  # the premium explanation was sent instead


class DeliveryScreen(Protocol):
    """What the user sees of a delivery, drawn by the handlers (Telegram messages)."""

    async def file(self, user_id: int, delivery: Delivery) -> int | None:
        """Send the file with its caption; the sent message's id."""
        ...

    async def join_first(
        self,
        user_id: int,
        channels: Sequence[ChannelLink],
        file_id: str | None,
        *,
        request_mode: bool,
    ) -> None:
        """The "join first" message: a button per channel and "try again" (for `file_id`)."""
        ...

    async def premium_only(self, user_id: int, info: str) -> None:
        """Why a premium file was refused, and how to get premium (PREMIUM_INFO)."""
        ...

    def auto_delete_notice(self, minutes: int) -> str:
        """The line sent after a file that will be deleted in `minutes`."""
        ...


def file_gate(record: FileRecord) -> Gate | None:
    """The file's own premium override, if it has one."""
    return Gate(record.premium) if record.premium in {"free", "premium"} else None


class DeliveryService:
    """Every path that hands out a file asks here first: the access policy (admin > ban >
    premium), then force-subscribe; `deliver` then sends the file and does what follows it."""

    def __init__(
        self,
        files: FileRepository,
        guards: Guards,
        *,
        screen: DeliveryScreen,
        users: UserService,
        auto_delete: AutoDeleteService,
        notices: Notices,
        subscription: SubscriptionService | None = None,
        caption_template: str = "<b>{file_name}</b>\n{file_size}",
        protect_content: bool = False,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._sleep = sleep
        self._files = files
        self._guards = guards
        self._screen = screen
        self._users = users
        self._auto_delete = auto_delete
        self._notices = notices
        self._subscription = subscription
        self._template = caption_template
        self._protect = protect_content

    @property
    def gated(self) -> bool:
        """Whether who asks can change what they get (premium gate or force-subscribe)."""
        subscribing = self._subscription is not None and self._subscription.enabled
        return subscribing or self._guards.global_gate is Gate.PREMIUM

    async def decide(
        self,
        user_id: int,
        *,
        gate: Gate | None = None,
        link_gate: Gate | None = None,
        fresh: bool = False,
    ) -> Decision:
        """The access decision for `user_id` and content behind `gate` (None: the global
        gate), force-subscribe included: one value, which the caller shows or raises.

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
        return decision

    async def deliver(
        self,
        user_id: int,
        file_id: str,
        *,
        fresh: bool = False,
        link_gate: Gate | None = None,
        claim: Callable[[], Awaitable[None]] | None = None,
    ) -> Delivered:
        """Deliver indexed file `file_id` (its unique id) to `user_id` in private chat.

        Refusals that need more than one line get their own message: the join buttons with a
        "try again" button that carries the file (not again for "try again" itself: `fresh`),
        or the premium explanation. Other refusals (banned, unknown file) are raised as
        `AppError`s for the caller to answer. A share link passes its override (`link_gate`)
        and `claim`, which counts the use once access is granted.
        """
        record = await self._files.get(file_id)
        if record is None:
            raise NotFoundError("file", user_message="This file is no longer available.")
        decision = await self.decide(
            user_id, gate=file_gate(record), link_gate=link_gate, fresh=fresh
        )
        if decision.reason is Reason.JOIN_FIRST:
            if not fresh:  # "try again" answers with an alert instead of a second message
                await self.ask_to_join(user_id, decision.channels, file_id)
            return Delivered.JOIN_FIRST
        if decision.reason is Reason.PREMIUM_REQUIRED:
            await self._screen.premium_only(user_id, self._guards.premium_info)
            return Delivered.PREMIUM
        if not decision.allowed:
            raise decision.error() or AccessError()
        if claim is not None:
            await claim()
        message_id = await self._screen.file(user_id, self.delivery_of(record))
        await self._users.downloaded(user_id)
        if self._auto_delete.enabled and message_id is not None:
            await self._auto_delete.schedule(user_id, message_id)
            # The file has arrived: the notice must not turn that into an error. It is sent in
            # the background, where a FloodWait postpones it instead of failing this request.
            minutes = self._auto_delete.minutes
            self._notices.post(user_id, self._screen.auto_delete_notice(minutes))
        return Delivered.FILE

    async def deliver_each(self, user_id: int, file_ids: Sequence[str]) -> int:
        """ "Send all": the files one by one through `deliver` (each meets the access policy),
        paced for the chat; stops at the first refusal (which was answered). How many were
        sent."""
        sent = 0
        for file_id in file_ids:
            if sent:
                await self.pace()
            if await self.deliver(user_id, file_id) is not Delivered.FILE:
                break
            sent += 1
        return sent

    async def ask_to_join(
        self, user_id: int, channels: Sequence[int | str], file_id: str | None
    ) -> None:
        """The "join first" message for `channels` ("try again" then delivers `file_id`)."""
        if self._subscription is None:
            return
        links = await self._subscription.links(channels)
        await self._screen.join_first(
            user_id, links, file_id, request_mode=self._subscription.request_mode
        )

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

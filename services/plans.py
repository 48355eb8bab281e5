"""Premium plan reminders: "ends tomorrow" and "has ended", durable and sent once.

Nothing sleeps until a plan's end: the reminder state lives in the user's record
(`premium_notice`), and one sweeper on the app's clock finds the plans whose next reminder is
due (a range on the `premium_until` index). A reminder due while the bot was down is sent when
it is back; an admin who extends a plan starts its reminders over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.clock import Clock
from core.logging import get_logger
from core.models import User
from services.ports import UserRepository
from services.users import REMIND_BEFORE

__all__ = ["PlanReminders", "Remind"]

log = get_logger(__name__)

Remind = Callable[[User, str], Awaitable[None]]
"""Tells a user about their plan: notice "ends_soon" or "ended"."""

SWEEP_BATCH = 200


class PlanReminders:
    def __init__(
        self,
        users: UserRepository,
        clock: Clock,
        remind: Remind,
    ) -> None:
        self._users = users
        self._clock = clock
        self._remind = remind

    async def sweep(self) -> int:
        """Send every reminder that is due; returns how many were sent."""
        sent = 0
        now = self._clock.now()
        for user in await self._users.premium_due(now + REMIND_BEFORE, SWEEP_BATCH):
            until = user.premium_until
            if until is None:  # pragma: no cover - the query selects plans
                continue
            notice = "ended" if until <= now else "ends_soon"
            if notice == user.premium_notice:
                continue
            # Recorded first (only if the plan is still the one read): a reminder is sent
            # at most once, even by two instances sweeping at the same moment.
            if await self._users.set_premium_notice(user.id, notice, until):
                await self._remind(user, notice)
                sent += 1
        if sent:
            log.info("premium_reminders_sent", count=sent)
        return sent

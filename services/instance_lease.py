"""One process per bot token: a lease in MongoDB (`instances`), renewed while the bot runs.

A second process with the same token finds the lease held and refuses to start
(`InstanceRunningError`, exit status 1). `--force-restart` takes the lease over from a stale
or hung process; that process notices at its next renewal (`RENEW_SECONDS`) and exits. A
process that dies without releasing the lease blocks a successor for `LEASE_SECONDS` at most.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import timedelta

from core.clock import Clock
from core.logging import get_logger
from core.utils.errors import InstanceRunningError
from services.ports import InstanceRepository

__all__ = ["LEASE_SECONDS", "RENEW_SECONDS", "InstanceLease"]

log = get_logger(__name__)

LEASE_SECONDS = 60.0
RENEW_SECONDS = 20.0


class InstanceLease:
    def __init__(
        self, instances: InstanceRepository, clock: Clock, *, bot: str, instance: str
    ) -> None:
        self._instances = instances
        self._clock = clock
        self.bot = bot
        self.owner = f"{instance} pid {os.getpid()} on {socket.gethostname()}"
        self.lost = asyncio.Event()  # set when another process took the lease over
        self._held = False

    async def acquire(self, *, force: bool = False) -> None:
        now = self._clock.now()
        holder = await self._instances.acquire(
            self.bot, self.owner, now, now + timedelta(seconds=LEASE_SECONDS), force=force
        )
        if holder is not None:
            raise InstanceRunningError(
                f"{holder.owner}, since {holder.since:%Y-%m-%d %H:%M:%S} UTC"
            )
        self._held = True
        log.info("instance_lease_acquired", bot=self.bot, forced=force)

    async def run(self) -> None:
        """Renew the lease every RENEW_SECONDS; set `lost` (and stop) if it was taken over."""
        while self._held:
            await self._clock.sleep(RENEW_SECONDS)
            until = self._clock.now() + timedelta(seconds=LEASE_SECONDS)
            try:
                kept = await self._instances.renew(self.bot, self.owner, until)
            except Exception as exc:  # noqa: BLE001 - a database hiccup: try again next time
                log.warning("instance_lease_not_renewed", error=type(exc).__name__)
                continue
            if not kept:
                self._held = False
                log.error("instance_replaced", bot=self.bot, reason="--force-restart elsewhere")
                self.lost.set()

    async def release(self) -> None:
        if self._held:
            self._held = False
            try:
                await self._instances.release(self.bot, self.owner)
            except Exception as exc:  # noqa: BLE001 - it lapses by itself
                log.warning("instance_lease_not_released", error=type(exc).__name__)

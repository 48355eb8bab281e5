"""Force-subscribe: users must be in every `AUTH_CHANNELS` channel before they receive files.

`AUTH_MODE=member`: only members (and the channel's admins) count. `AUTH_MODE=request`: a pending
join request counts too, so channels that approve members by hand do not lock users out while
they wait. Banned (kicked) and departed users never count. Bot admins are exempt.

Telegram is reached through a `MembershipSource` (implemented in `core/telegram/membership.py`),
so this module stays free of Pyrogram. Membership is cached for `cache_seconds`; "try again"
re-checks with `fresh=True`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol

from core.cache.enhanced_cache import EnhancedCache
from core.clock import Clock
from core.logging import get_logger
from core.models import MemberStatus
from core.utils.errors import SubscriptionRequiredError
from services.ports import JoinRequestRepository, SettingsRepository

__all__ = ["ChannelLink", "MembershipSource", "SubscriptionService"]

"""`unknown`: the bot cannot check this chat (it is not an admin there): a configuration problem,
logged, and the user is let through. A check that fails for a passing reason (FloodWait, a
timeout) raises instead: force-subscribe fails closed, and the failure is not cached."""

ChatRef = int | str
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ChannelLink:
    """A force-subscribe channel as users see it: its title and where to join it."""

    chat_id: int
    title: str
    url: str


class MembershipSource(Protocol):
    async def status(self, chat_id: int, user_id: int) -> MemberStatus: ...
    async def describe(self, chat: ChatRef) -> tuple[int, str, str | None] | None:
        """(chat id, title, public username or None); None when Telegram will not say."""
        ...

    async def invite_link(self, chat_id: int, *, request: bool) -> str | None: ...


class SubscriptionService:
    def __init__(
        self,
        channels: Sequence[ChatRef],
        *,
        mode: Literal["member", "request"],
        source: MembershipSource,
        requests: JoinRequestRepository,
        settings: SettingsRepository,
        clock: Clock,
        admins: Iterable[int] = (),
        cache_seconds: float = 60.0,
    ) -> None:
        self._refs = tuple(channels)
        self._mode = mode
        self._source = source
        self._requests = requests
        self._settings = settings
        self._clock = clock
        self._admins = frozenset(admins)
        self._links: dict[ChatRef, ChannelLink] = {}
        self._failed: dict[ChatRef, float] = {}  # when resolving last failed (monotonic)
        self._retry_seconds = cache_seconds
        self._status: EnhancedCache[tuple[int, int], MemberStatus] = EnhancedCache(
            "membership", maxsize=50_000, ttl=cache_seconds, timer=clock.monotonic
        )

    @property
    def enabled(self) -> bool:
        return bool(self._refs)

    @property
    def request_mode(self) -> bool:
        return self._mode == "request"

    async def missing(self, user_id: int, *, fresh: bool = False) -> tuple[ChannelLink, ...]:
        """The channels `user_id` still has to join (empty when nothing is required)."""
        if not self._refs or user_id in self._admins:
            return ()
        channels = await self._channels()
        if fresh:
            self._status.invalidate(lambda key: key[1] == user_id)
        pending: frozenset[int] | None = None
        missing: list[ChannelLink] = []
        for channel in channels:
            key = (channel.chat_id, user_id)
            status = await self._status.get_or_load(key, partial(self._source.status, *key))
            if status in {"member", "admin"}:
                continue
            if status == "unknown":  # cannot check: let the user through, the operator is told
                continue
            if status == "left" and self.request_mode:
                if pending is None:
                    pending = await self._requests.pending(user_id)
                if channel.chat_id in pending:
                    continue
            missing.append(channel)
        return tuple(missing)

    async def require(self, user_id: int, *, fresh: bool = False) -> None:
        """Raise `SubscriptionRequiredError` (carrying the channels) unless subscribed."""
        missing = await self.missing(user_id, fresh=fresh)
        if missing:
            raise SubscriptionRequiredError(tuple(c.chat_id for c in missing))

    async def links(self, chat_ids: Iterable[int | str]) -> tuple[ChannelLink, ...]:
        """The join links of the given channels (as carried by a `SubscriptionRequiredError`)."""
        wanted = set(chat_ids)
        channels = await self._channels()
        return tuple(c for c in channels if c.chat_id in wanted)

    async def record_request(self, chat_id: int, user_id: int) -> bool:
        """A user asked to join `chat_id`; True when that is one of the force-subscribe channels
        (and so was recorded)."""
        channels = await self._channels()
        if chat_id not in {c.chat_id for c in channels}:
            return False
        await self._requests.record(chat_id, user_id, self._clock.now())
        self._status.delete((chat_id, user_id))
        log.info("join_request_recorded", channel=chat_id, counts=self.request_mode)
        return True

    async def _channels(self) -> list[ChannelLink]:
        """The configured channels that could be resolved. One that cannot (the bot is not an
        admin there, or it does not exist) is skipped: users are let through rather than locked
        out, and the source logs the reason for the operator."""
        found = [await self._link(ref) for ref in self._refs]
        return [link for link in found if link is not None]

    async def _link(self, ref: ChatRef) -> ChannelLink | None:
        """Title and join URL of a configured channel, resolved once per process.

        Public channels are joined through their username in member mode. Otherwise the bot
        exports an invite link (one that needs approval in request mode), stored in the
        `settings` collection so restarts do not pile up new links in the channel. A channel
        that cannot be resolved is retried after `cache_seconds`.
        """
        known = self._links.get(ref)
        if known is not None:
            return known
        failed_at = self._failed.get(ref)
        if failed_at is not None and self._clock.monotonic() - failed_at < self._retry_seconds:
            return None  # asked Telegram recently: do not ask (and log) on every delivery
        link = await self._resolve(ref)
        if link is None:
            self._failed[ref] = self._clock.monotonic()
            return None
        self._failed.pop(ref, None)
        self._links[ref] = link
        return link

    async def _resolve(self, ref: ChatRef) -> ChannelLink | None:
        described = await self._source.describe(ref)
        if described is None:
            return None
        chat_id, title, username = described
        if username and not self.request_mode:
            url = f"https://t.me/{username}"
        else:
            key = f"invite_link:{chat_id}:{self._mode}"
            stored = await self._settings.get(key)
            if isinstance(stored, str) and stored:
                url = stored
            else:
                created = await self._source.invite_link(chat_id, request=self.request_mode)
                if created is None:
                    return None
                url = created
                await self._settings.set(key, url)
        return ChannelLink(chat_id, title, url)

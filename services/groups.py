"""Groups the bot is in: recorded when first seen, with a per-group auto-filter switch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from core.cache.enhanced_cache import EnhancedCache
from core.clock import Clock
from core.models import ChatRecord
from services.ports import ChatRepository
from services.subscription import MembershipSource

__all__ = ["AUTOFILTER", "AUTO_DELETE_CHOICES", "GroupService", "GroupSettings"]

AUTOFILTER = "autofilter"  # chats.settings key; missing means on
AUTO_DELETE_CHOICES = (0, 5, 15, 60)  # minutes results stay in the group (0: kept)


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """A group's own settings (`/settings`), from `chats.settings`; missing keys: defaults."""

    autofilter: bool = True  # titles written in the group are searched
    results: str = "buttons"  # "buttons": file buttons in the group; "link": one link to PM
    autodelete: int = 0  # minutes after which the bot's results are deleted (0: never)
    suggest: bool = False  # "did you mean" when nothing matches (else silence)
    welcome: bool = False  # greet new members

    @classmethod
    def of(cls, record: ChatRecord) -> GroupSettings:
        raw = record.settings
        minutes = raw.get("autodelete", 0)
        return cls(
            autofilter=bool(raw.get(AUTOFILTER, True)),
            results="link" if raw.get("results") == "link" else "buttons",
            autodelete=minutes if isinstance(minutes, int) and minutes > 0 else 0,
            suggest=bool(raw.get("suggest", False)),
            welcome=bool(raw.get("welcome", False)),
        )

    def toggled(self, key: str) -> object:
        """The value `key` takes when its button is pressed (the next choice)."""
        if key == "results":
            return "link" if self.results == "buttons" else "buttons"
        if key == "autodelete":
            choices = AUTO_DELETE_CHOICES
            at = choices.index(self.autodelete) if self.autodelete in choices else 0
            return choices[(at + 1) % len(choices)]
        if key in (AUTOFILTER, "suggest", "welcome"):
            return not getattr(self, key)
        raise ValueError(f"unknown group setting {key!r}")


class GroupService:
    def __init__(
        self,
        chats: ChatRepository,
        clock: Clock,
        *,
        members: MembershipSource | None = None,
        admins: Iterable[int] = (),
        cache_seconds: float = 60.0,
        on_new: Callable[[ChatRecord], None] | None = None,
    ) -> None:
        self._on_new = on_new  # a group seen for the first time (the log channel hears of it)
        self._chats = chats
        self._clock = clock
        self._members = members
        self._admins = frozenset(admins)
        # A busy group sends many messages a minute: its record is read once per minute at most.
        self._records: EnhancedCache[int, ChatRecord] = EnhancedCache(
            "groups", maxsize=10_000, ttl=cache_seconds, timer=clock.monotonic
        )

    async def record(self, chat_id: int, title: str, kind: str) -> ChatRecord:
        """The group's record, created (and marked active) the first time it is seen."""

        async def load() -> ChatRecord:
            found = await self._chats.get(chat_id)
            if found is not None and found.active and found.title == title:
                return found
            record = await self._chats.upsert(chat_id, title, kind, self._clock.now())
            if (found is None or not found.active) and self._on_new is not None:
                self._on_new(record)
            return record

        return await self._records.get_or_load(chat_id, load)

    async def autofilter(self, chat_id: int, title: str, kind: str) -> bool:
        record = await self.record(chat_id, title, kind)
        return bool(record.settings.get(AUTOFILTER, True))

    async def may_configure(self, chat_id: int, user_id: int) -> bool:
        """The bot's admins and the group's own admins may change the group's settings."""
        if user_id in self._admins:
            return True
        if self._members is None:
            return False
        return await self._members.status(chat_id, user_id) == "admin"

    async def get(self, chat_id: int) -> ChatRecord | None:
        return await self._chats.get(chat_id)

    def all_chats(self) -> AsyncIterator[ChatRecord]:
        return self._chats.all_chats()

    async def left(self, chat_id: int) -> bool:
        """Record that the bot left `chat_id` (False: it was not recorded as in it)."""
        self._records.delete(chat_id)
        return await self._chats.mark_left(chat_id)

    async def settings(self, chat_id: int, title: str, kind: str) -> GroupSettings:
        return GroupSettings.of(await self.record(chat_id, title, kind))

    async def toggle(self, chat_id: int, title: str, kind: str, key: str) -> GroupSettings:
        """Move setting `key` to its next value (on/off, or the next choice)."""
        current = await self.settings(chat_id, title, kind)
        updated = await self._chats.set_setting(chat_id, key, current.toggled(key))
        if updated is None:  # pragma: no cover - `settings` recorded the group
            return current
        self._records.set(chat_id, updated)
        return GroupSettings.of(updated)

    async def set_autofilter(self, chat_id: int, title: str, kind: str, *, enabled: bool) -> None:
        await self.record(chat_id, title, kind)
        updated = await self._chats.set_setting(chat_id, AUTOFILTER, enabled)
        if updated is not None:
            self._records.set(chat_id, updated)

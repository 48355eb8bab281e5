"""Feature flags: new user-visible features ship behind one, rolled out gradually.

A flag is on or off, for a percentage of users (stable: the same users every time, from a hash
of the flag's name and the user's id), for some groups (admins / premium / free), some chat
types (private / group / inline), and never in excluded chats. Defaults come from the `FLAGS`
setting (`send_all=50%,typo_tolerance=off`); what admins set with `/flag` is stored in MongoDB
and wins. Every instance re-reads the stored flags once a minute.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from core.clock import Clock
from core.flags import FLAGS, GROUPS, KINDS, Flag
from core.logging import get_logger
from core.models import User
from services.ports import FlagRepository

__all__ = ["FlagService"]

log = get_logger(__name__)

REFRESH_SECONDS = 60.0


class FlagService:
    def __init__(
        self,
        repository: FlagRepository,
        clock: Clock,
        *,
        defaults: Mapping[str, Flag],
        admins: frozenset[int],
        users: Callable[[int], Awaitable[User | None]],
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._defaults = dict(defaults)
        self._flags = dict(defaults)
        self._admins = admins
        self._users = users

    def get(self, name: str) -> Flag:
        return self._flags[name]

    def all(self) -> list[Flag]:
        return [self._flags[name] for name in FLAGS]

    async def load(self) -> None:
        stored = await self._repository.all()
        flags = dict(self._defaults)
        for name, doc in stored.items():
            if name in flags:
                flags[name] = _from_doc(flags[name], doc)
        self._flags = flags

    async def set(self, name: str, changes: Mapping[str, Any], by: int) -> Flag:
        """Change a flag (`enabled`, `rollout`, `groups`, `chat_types`, `excluded_chats`)."""
        flag = replace(self._flags[name], **changes)
        await self._repository.save(
            name,
            {
                "enabled": flag.enabled,
                "rollout": flag.rollout,
                "groups": sorted(flag.groups),
                "chat_types": sorted(flag.chat_types),
                "excluded_chats": sorted(flag.excluded_chats),
            },
            by,
            self._clock.now(),
        )
        self._flags[name] = flag
        log.info("flag_changed", flag=name, by=by, state=flag.describe())
        return flag

    async def enabled(
        self, name: str, user_id: int | None, chat_type: str, chat_id: int | None = None
    ) -> bool:
        """Whether `name` is on for this user in this chat."""
        flag = self._flags[name]
        if not flag.enabled or chat_type not in flag.chat_types:
            return False
        if chat_id is not None and chat_id in flag.excluded_chats:
            return False
        if user_id is None:
            return flag.rollout >= 100 and len(flag.groups) == len(GROUPS)  # noqa: PLR2004
        if len(flag.groups) < len(GROUPS) and await self._group(user_id) not in flag.groups:
            return False
        return flag.admits_user(user_id)

    async def _group(self, user_id: int) -> str:
        if user_id in self._admins:
            return "admins"
        user = await self._users(user_id)
        return "premium" if user is not None and user.is_premium(self._clock.now()) else "free"


def _from_doc(base: Flag, doc: Mapping[str, Any]) -> Flag:
    return replace(
        base,
        enabled=bool(doc.get("enabled", base.enabled)),
        rollout=int(doc.get("rollout", base.rollout)),
        groups=frozenset(doc.get("groups", base.groups)) & frozenset(GROUPS),
        chat_types=frozenset(doc.get("chat_types", base.chat_types)) & frozenset(KINDS),
        excluded_chats=frozenset(int(c) for c in doc.get("excluded_chats", ())),
    )

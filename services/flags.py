"""Feature flags: new user-visible features ship behind one, rolled out gradually.

A flag is on or off, for a percentage of users (stable: the same users every time, from a hash
of the flag's name and the user's id), for some groups (admins / premium / free), some chat
types (private / group / inline), and never in excluded chats. Defaults come from the `FLAGS`
setting (`send_all=50%,typo_tolerance=off`); what admins set with `/flag` is stored in MongoDB
and wins. Every instance re-reads the stored flags once a minute.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.clock import Clock
from core.logging import get_logger
from core.models import User
from repositories.flags import FlagRepository

__all__ = ["FLAGS", "GROUPS", "KINDS", "Flag", "FlagService", "parse_defaults"]

log = get_logger(__name__)

FLAGS: Mapping[str, str] = {
    "typo_tolerance": "typo matches in search results",
    "send_all": "the 📥 Send all button on results pages",
    "debug_command": "/debug_last for admins (with ENABLE_DEBUG_CMD)",
}
GROUPS = ("admins", "premium", "free")
KINDS = ("private", "group", "inline")
REFRESH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    enabled: bool = True
    rollout: int = 100  # per cent of users
    groups: frozenset[str] = field(default_factory=lambda: frozenset(GROUPS))
    chat_types: frozenset[str] = field(default_factory=lambda: frozenset(KINDS))
    excluded_chats: frozenset[int] = frozenset()

    def admits_user(self, user_id: int) -> bool:
        """Whether `user_id` is among the `rollout` per cent (the same ones every time)."""
        if self.rollout >= 100:  # noqa: PLR2004
            return True
        digest = hashlib.blake2b(f"{self.name}:{user_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % 10_000 < self.rollout * 100

    def describe(self) -> str:
        state = "on" if self.enabled else "off"
        return (
            f"{state} · {self.rollout} % · {', '.join(g for g in GROUPS if g in self.groups)} · "
            f"{', '.join(k for k in KINDS if k in self.chat_types)}"
            + (f" · excluded {len(self.excluded_chats)} chats" if self.excluded_chats else "")
        )


def parse_defaults(text: str) -> dict[str, Flag]:
    """`FLAGS`: `name=on|off|<n>%` pairs, comma- or space-separated; unknown names are an
    error (a typo would silently do nothing)."""
    flags = {name: Flag(name) for name in FLAGS}
    for item in text.replace(",", " ").split():
        name, _, value = item.partition("=")
        if name not in FLAGS:
            raise ValueError(f"unknown feature flag {name!r} (known: {', '.join(FLAGS)})")
        flags[name] = apply(flags[name], value)
    return flags


def apply(flag: Flag, value: str) -> Flag:
    """`on`, `off` or `<n>%` (0-100)."""
    text = value.strip().lower()
    if text in ("on", "off"):
        return replace(flag, enabled=text == "on")
    if text.endswith("%") and text[:-1].isdigit() and 0 <= int(text[:-1]) <= 100:  # noqa: PLR2004
        return replace(flag, enabled=True, rollout=int(text[:-1]))
    raise ValueError(f"{value!r}: use on, off or a percentage like 10%")


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

    async def run(self) -> None:
        """Re-read the stored flags every minute (another instance's `/flag`)."""
        while True:
            await self._clock.sleep(REFRESH_SECONDS)
            try:
                await self.load()
            except Exception as exc:  # noqa: BLE001 - the last known flags stay in force
                log.warning("flags_not_refreshed", error=type(exc).__name__)

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

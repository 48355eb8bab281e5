"""The feature flag model: which flags exist, what a flag says (on, rollout, groups, chat
types, excluded chats), and `FLAGS` defaults as the setting writes them. The settings validate
`FLAGS` with it; `services/flags.py` stores and decides them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = ["FLAGS", "GROUPS", "KINDS", "Flag", "apply", "parse_defaults"]

FLAGS: Mapping[str, str] = {
    "typo_tolerance": "typo matches in search results",
    "send_all": "the 📥 Send all button on results pages",
    "debug_command": "/debug_last for admins (with ENABLE_DEBUG_CMD)",
}
GROUPS = ("admins", "premium", "free")
KINDS = ("private", "group", "inline")


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

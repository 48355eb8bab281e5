"""Feature flags: a stable percentage, groups, chat types, exclusions, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.flags import Flag, parse_defaults
from core.models import User
from services.flags import FlagService
from testkit.clock import VirtualClock

NOW = datetime(2026, 6, 1, tzinfo=UTC)


class MemoryFlags:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def all(self) -> dict[str, dict[str, Any]]:
        return dict(self.docs)

    async def save(self, name: str, fields: dict[str, Any], by: int, now: datetime) -> None:
        self.docs[name] = {**fields, "updated_by": by, "updated_at": now}


def _service(repository: MemoryFlags, defaults: str = "") -> FlagService:
    async def users(user_id: int) -> User | None:
        premium = NOW + timedelta(days=1) if user_id % 2 else None
        return User(user_id, "u", None, NOW, NOW, premium_until=premium)

    clock = VirtualClock()
    return FlagService(
        repository,  # type: ignore[arg-type]  # the repository's protocol, in memory
        clock,
        defaults=parse_defaults(defaults),
        admins=frozenset({1}),
        users=users,
    )


async def test_a_ten_percent_rollout_selects_ten_percent_the_same_every_time() -> None:
    flags = _service(MemoryFlags(), "send_all=10%")
    users = range(100_000, 110_000)
    chosen = [u for u in users if await flags.enabled("send_all", u, "private")]
    assert 900 <= len(chosen) <= 1100
    again = [u for u in users if await flags.enabled("send_all", u, "private")]
    assert again == chosen
    other = [u for u in users if Flag("typo_tolerance", rollout=10).admits_user(u)]
    assert other != chosen  # each flag picks its own users


async def test_groups_chat_types_and_excluded_chats() -> None:
    repository = MemoryFlags()
    flags = _service(repository)
    await flags.set("send_all", {"groups": frozenset({"admins", "premium"})}, by=1)
    assert await flags.enabled("send_all", 1, "private")  # an admin
    assert await flags.enabled("send_all", 3, "private")  # premium (odd ids here)
    assert not await flags.enabled("send_all", 4, "private")  # free
    await flags.set("send_all", {"chat_types": frozenset({"private"})}, by=1)
    assert not await flags.enabled("send_all", 3, "group", -100123)
    await flags.set(
        "send_all",
        {"chat_types": frozenset({"group"}), "excluded_chats": frozenset({-100123})},
        by=1,
    )
    assert not await flags.enabled("send_all", 3, "group", -100123)
    assert await flags.enabled("send_all", 3, "group", -100999)
    reloaded = _service(repository)
    await reloaded.load()  # another instance, or a restart
    assert reloaded.get("send_all").excluded_chats == frozenset({-100123})
    assert repository.docs["send_all"]["updated_by"] == 1


def test_defaults_come_from_the_setting_and_typos_are_refused() -> None:
    flags = parse_defaults("send_all=off, typo_tolerance=25%")
    assert not flags["send_all"].enabled
    assert flags["typo_tolerance"].rollout == 25
    assert flags["debug_command"].enabled
    with pytest.raises(ValueError, match="unknown feature flag"):
        parse_defaults("send_al=off")
    with pytest.raises(ValueError, match="use on, off or a percentage"):
        parse_defaults("send_all=maybe")

"""Domain dataclasses returned by the repositories; frozen values, no driver types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["BanRecord", "User"]


@dataclass(frozen=True, slots=True)
class BanRecord:
    reason: str
    by: int
    at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str
    username: str | None
    joined_at: datetime
    last_seen: datetime
    banned: BanRecord | None = None
    premium_until: datetime | None = None
    blocked_bot: bool = False

    def is_premium(self, now: datetime) -> bool:
        """Premium is active until (not including) `premium_until`."""
        return self.premium_until is not None and now < self.premium_until

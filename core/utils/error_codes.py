"""Stable error codes: what logs, metrics and `ErrorResponse`s name a failure by."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode"]


class ErrorCode(StrEnum):
    VALIDATION = "validation"
    PERMISSION_DENIED = "permission_denied"
    BANNED = "banned"
    PREMIUM_REQUIRED = "premium_required"
    SUBSCRIPTION_REQUIRED = "subscription_required"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    FLOOD_WAIT = "flood_wait"
    STORAGE = "storage"
    SEARCH_UNAVAILABLE = "search_unavailable"
    CHANNEL_UNREADABLE = "channel_unreadable"
    TELEGRAM = "telegram"
    TELEGRAM_USER_BLOCKED = "telegram_user_blocked"
    TELEGRAM_USER_DEACTIVATED = "telegram_user_deactivated"
    TELEGRAM_PEER_INVALID = "telegram_peer_invalid"
    TELEGRAM_WRITE_FORBIDDEN = "telegram_write_forbidden"
    INTERNAL = "internal"

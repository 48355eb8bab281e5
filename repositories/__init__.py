"""MongoDB repositories: the only package that imports Motor."""

from __future__ import annotations

from repositories import (
    channels,
    chats,
    deletions,
    files,
    jobs,
    join_requests,
    links,
    searches,
    users,
)
from repositories.migrations import DOWNGRADES, MIGRATIONS
from repositories.mongo import IndexSpec

__all__ = ["ALL_INDEXES", "DOWNGRADES", "MIGRATIONS"]

ALL_INDEXES: tuple[IndexSpec, ...] = (
    *users.INDEXES,
    *files.INDEXES,
    *chats.INDEXES,
    *channels.INDEXES,
    *links.INDEXES,
    *jobs.INDEXES,
    *deletions.INDEXES,
    *searches.INDEXES,
    *join_requests.INDEXES,
)
"""Every index the repositories declare; ensured at start-up and verified by the health check."""

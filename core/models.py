"""Domain dataclasses returned by the repositories; frozen values, no driver types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from core.search.metadata import FileMetadata

__all__ = [
    "BanRecord",
    "ChannelInfo",
    "IncomingFile",
    "MemberStatus",
    "Outcome",
    "Post",
    "User",
    "UserTally",
]


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
    searches: int = 0
    downloads: int = 0
    premium_notice: str | None = None  # the last plan reminder sent: "ends_soon" or "ended"

    def is_premium(self, now: datetime) -> bool:
        """Premium is active until (not including) `premium_until`."""
        return self.premium_until is not None and now < self.premium_until


@dataclass(frozen=True, slots=True)
class UserTally:
    """Users counted for `/stats`."""

    total: int
    active: int  # wrote to the bot in the last 7 days
    blocked: int  # blocked the bot or deleted their account
    banned: int
    premium: int  # plan active now


@dataclass(frozen=True, slots=True)
class FileRecord:
    """An indexed file; `id` is Telegram's `file_unique_id`. `terms`, `title_terms` and
    `name_key` are derived from the name and title (`core.search.normalize.name_terms`); they
    are not stored in MongoDB."""

    id: str
    file_id: str
    file_name: str
    file_size: int
    mime_type: str | None
    file_type: str  # video | audio | document
    caption: str | None
    chat_id: int
    message_id: int
    terms: tuple[str, ...]
    title: str
    title_terms: tuple[str, ...]
    indexed_at: datetime
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    resolution: str | None = None
    quality: str | None = None
    language: str | None = None
    premium: str | None = None  # None: the global gate; "free" or "premium": this file's override
    name_key: str = ""  # normalised name, for duplicate detection with the size
    metadata_pending: bool = False  # the accurate parser has not read the name yet


@dataclass(frozen=True, slots=True)
class FileListing:
    """A file as a results page lists it, read from the search index (no database round trip):
    what its button shows and what a click asks for."""

    id: str
    file_name: str
    file_size: int
    file_type: str  # video | audio | document


@dataclass(frozen=True, slots=True)
class SaveReport:
    """What `files.save_many` did with a batch."""

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0  # same file (unique id) unchanged, or same name + size from another upload
    duplicate_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatRecord:
    id: int
    title: str
    kind: str  # group | supergroup | channel
    settings: dict[str, object]
    joined_at: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A deep link: `t.me/bot?start=<code>` to some files or a channel message range."""

    code: str
    file_ids: tuple[str, ...]
    chat_id: int | None
    first_message_id: int | None
    last_message_id: int | None
    premium: str | None
    created_by: int
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int = 0

    def usable(self, now: datetime) -> bool:
        if self.expires_at is not None and now >= self.expires_at:
            return False
        return self.max_uses is None or self.uses < self.max_uses


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A durable background job (index, broadcast, import) with checkpoint and lease."""

    id: str
    kind: str
    state: str  # pending | running | paused | done | failed | cancelled
    params: dict[str, object]
    checkpoint: dict[str, object]
    counters: dict[str, int]
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    lease_until: datetime | None = None
    error: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeletionRecord:
    """A delivered message to delete when it is due (auto-delete)."""

    id: str
    chat_id: int
    message_id: int
    due_at: datetime
    notify: bool = True


# Values the domain and the Telegram edge both speak (core/telegram/ builds them from
# Telegram's objects; services/ acts on them).


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A media message as the Telegram layer saw it."""

    unique_id: str
    file_id: str
    file_name: str | None
    file_size: int
    mime_type: str | None
    caption: str | None
    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Post:
    """One channel post as a fetch returned it: its file, if it carries one we index."""

    id: int
    file: IncomingFile | None = None
    exists: bool = True  # False: deleted, or an id the channel never used


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    chat_id: int
    title: str
    username: str | None = None


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # blocked the bot, deleted the account, or removed the bot
    FAILED = "failed"


MemberStatus = Literal["member", "admin", "left", "kicked", "unknown"]
"""A user's standing in a channel, as force-subscribe reads it."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after a sequence number, oldest first, one entry per file: the files as
    they are now (`upserts`) and the ids of files deleted since (`deletes`). `last` is the
    highest sequence number read (the caller's next `after`)."""

    upserts: tuple[FileRecord, ...]
    deletes: tuple[str, ...]
    last: int
    numbers: dict[str, int] = field(default_factory=dict)  # file id → number of its change
    more: bool = False  # the limit was reached: there may be changes after `last`


MetadataUpdate = tuple[str, FileMetadata]
"""A file id and the accurate parser's reading of its name."""


@dataclass(frozen=True, slots=True)
class Holder:
    owner: str  # "<instance id> pid <pid> on <host>"
    since: datetime
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class LibraryChannel:
    chat_id: int
    state: str  # added | removed | seen
    title: str | None = None
    username: str | None = None
    last_post: int = 0
    updated_at: datetime | None = None


ACTIVE_STATES = ("pending", "running")  # a job a worker may claim
OPEN_STATES = (*ACTIVE_STATES, "paused")  # not finished: no second job for the same subject
AUDIENCES = ("users", "groups", "all")  # whom a broadcast reaches

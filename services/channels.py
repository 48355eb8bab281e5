"""Which channels the bot indexes: `CHANNELS` seeds the list, admins add and remove channels
with `/addchannel` and `/removechannel` (kept in MongoDB, so they survive restarts and reach
every instance at its next start)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.logging import get_logger
from core.models import LibraryChannel
from services.ports import ChannelRepository, FileRepository, SettingsRepository

__all__ = ["ChannelDirectory", "ChannelSummary"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ChannelSummary:
    """One line of `/channels`."""

    chat_id: int | None
    title: str
    username: str | None
    files: int
    last_post: int
    source: str  # "added" | "CHANNELS" | "every channel"


class ChannelDirectory:
    def __init__(
        self,
        channels: ChannelRepository,
        files: FileRepository,
        clock: Clock,
        *,
        seeds: Sequence[int | str] = (),
        settings: SettingsRepository,
    ) -> None:
        self._settings = settings
        self._channels = channels
        self._files = files
        self._clock = clock
        self._seed_ids = frozenset(c for c in seeds if isinstance(c, int))
        self._seed_names = frozenset(c.lower() for c in seeds if isinstance(c, str))
        self._known: dict[int, LibraryChannel] = {}

    async def load(self) -> None:
        """Read the stored list (at start)."""
        self._known = {c.chat_id: c for c in await self._channels.all()}

    def _state(self, chat_id: int) -> str | None:
        known = self._known.get(chat_id)
        return known.state if known is not None else None

    @property
    def _added(self) -> list[LibraryChannel]:
        return [c for c in self._known.values() if c.state == "added"]

    def watches(self, chat_id: int, username: str | None) -> bool:
        """Whether new posts of this channel are indexed: never once removed; always once
        added; otherwise as `CHANNELS` says (every channel the bot administers when neither
        `CHANNELS` nor `/addchannel` names any)."""
        state = self._state(chat_id)
        if state == "removed":
            return False
        if state == "added":
            return True
        if chat_id in self._seed_ids:
            return True
        if username is not None and f"@{username}".lower() in self._seed_names:
            return True
        return not self._seed_ids and not self._seed_names and not self._added

    def title_of(self, chat_id: int) -> str:
        """The channel's title as last seen, else its id (no database read)."""
        known = self._known.get(chat_id)
        return known.title if known is not None and known.title else str(chat_id)

    async def count(self) -> int:
        """How many channels are indexed (those `/channels` lists)."""
        return len(await self.summaries(with_files=False))

    async def add(self, chat_id: int, title: str, username: str | None) -> None:
        await self._channels.set_state(
            chat_id, "added", self._clock.now(), title=title, username=username
        )
        await self.load()
        log.info("channel_added", chat_id=chat_id)

    async def remove(self, chat_id: int, title: str | None = None) -> int:
        """Stop indexing the channel and delete its files; how many were deleted."""
        await self._channels.set_state(
            chat_id, "removed", self._clock.now(), title=title, username=None
        )
        await self.load()
        deleted = await self._files.delete_chat(chat_id)
        log.info("channel_removed", chat_id=chat_id, files_deleted=deleted)
        return deleted

    async def addfile_mode(self, admin_id: int) -> bool:
        """Whether files this admin sends the bot in private chat are indexed (`/addfile`)."""
        return bool(await self._settings.get(f"addfile:{admin_id}"))

    async def set_addfile_mode(self, admin_id: int, *, on: bool) -> None:
        await self._settings.set(f"addfile:{admin_id}", on)

    async def note_post(
        self,
        chat_id: int,
        message_id: int,
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> None:
        """A file of this post was indexed (the highest post id is shown by `/channels`)."""
        await self._channels.note_post(
            chat_id, message_id, self._clock.now(), title=title, username=username
        )
        if chat_id not in self._known:
            await self.load()

    async def summaries(self, *, with_files: bool = True) -> list[ChannelSummary]:
        """Every channel indexed or named: added ones, `CHANNELS`, and channels files came
        from; removed ones are left out. `with_files=False` leaves the file counts at 0 (one
        count per channel saved)."""
        await self.load()
        lines: list[ChannelSummary] = []
        for channel in sorted(self._known.values(), key=lambda c: c.chat_id):
            if channel.state == "removed":
                continue
            if channel.state == "added":
                source = "added"
            elif channel.chat_id in self._seed_ids or (
                channel.username is not None and f"@{channel.username}" in self._seed_names
            ):
                source = "CHANNELS"
            else:
                source = "CHANNELS" if self._seed_ids or self._seed_names else "every channel"
            lines.append(
                ChannelSummary(
                    chat_id=channel.chat_id,
                    title=channel.title or str(channel.chat_id),
                    username=channel.username,
                    files=await self._files.count_in_chat(channel.chat_id) if with_files else 0,
                    last_post=channel.last_post,
                    source=source,
                )
            )
        named = {c.chat_id for c in lines}
        lines += [
            ChannelSummary(seed, str(seed), None, 0, 0, "CHANNELS")
            for seed in sorted(self._seed_ids - named)
            if self._state(seed) != "removed"
        ]
        known_names = {f"@{c.username}" for c in self._known.values() if c.username}
        lines += [
            ChannelSummary(None, name, name.lstrip("@"), 0, 0, "CHANNELS")
            for name in sorted(self._seed_names - known_names)
        ]
        return lines

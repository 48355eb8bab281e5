"""Indexing: channel media in, searchable `FileRecord`s out.

A file is stored with what the fast marker pass reads from its name and is searchable as soon
as it is stored; the accurate parser completes its metadata afterwards
(`services.metadata`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from core.clock import Clock
from core.logging import get_logger
from core.models import FileRecord, IncomingFile, SaveReport
from core.search.metadata import describe
from core.search.normalize import strip_extension, terms_of, tokenize
from core.utils.validators import Validators
from services.metadata import MetadataService
from services.ports import FileRepository
from services.search import SearchService

__all__ = ["IndexingService", "build_record"]

log = get_logger(__name__)


def build_record(incoming: IncomingFile, now: datetime, *, pending: bool) -> FileRecord | None:
    """What to store for a file: the fast marker pass's reading of its name (`pending`: the
    accurate parser completes it later), or None for a file type the bot does not index."""
    kind = Validators.file_type(incoming.mime_type, incoming.file_name)
    if not kind.ok or kind.value is None:
        return None
    name = incoming.file_name or (incoming.caption or "").strip().split("\n")[0] or "file"
    tokens = tokenize(strip_extension(name))
    terms, key = terms_of(tokens)
    meta = describe(name, use_guessit=False, tokens=tokens)
    return FileRecord(
        id=incoming.unique_id,
        file_id=incoming.file_id,
        file_name=name,
        file_size=incoming.file_size,
        mime_type=incoming.mime_type,
        file_type=kind.value,
        caption=incoming.caption,
        chat_id=incoming.chat_id,
        message_id=incoming.message_id,
        terms=terms,
        title=meta.title,
        title_terms=meta.title_terms,
        indexed_at=now,
        year=meta.year,
        season=meta.season,
        episode=meta.episode,
        resolution=meta.resolution,
        quality=meta.quality,
        language=meta.language,
        name_key=key,
        metadata_pending=pending,
    )


class IndexingService:
    def __init__(
        self,
        files: FileRepository,
        search: SearchService,
        clock: Clock,
        *,
        skip_duplicates: bool = True,
        use_guessit: bool = True,
        metadata: MetadataService | None = None,
    ) -> None:
        """`use_guessit`: mark new files for the accurate parser (the metadata service, woken
        after each batch, completes them); False keeps the fast pass's reading for good."""
        self._files = files
        self._search = search
        self._clock = clock
        self._skip_duplicates = skip_duplicates
        self._use_guessit = use_guessit
        self._metadata = metadata

    def build(self, incoming: IncomingFile) -> FileRecord | None:
        """The record to store, or None for a file type the bot does not index."""
        return build_record(incoming, self._clock.now(), pending=self._use_guessit)

    async def index(self, batch: Sequence[IncomingFile], *, only_new: bool = False) -> SaveReport:
        """Index a batch: stored and searchable at once, metadata completed afterwards.
        `only_new` (a channel's history): a file already held is left as it is and counted as
        a duplicate, which spares the database a lookup of the batch's ids."""
        built = await asyncio.to_thread(lambda: [self.build(f) for f in batch])
        records = [r for r in built if r is not None]
        report = await self._files.save_many(
            records, skip_same_name_and_size=self._skip_duplicates, only_new=only_new
        )
        if report.inserted or report.updated:
            # A channel's history (`only_new`) is written batch after batch: its batches
            # become searchable in the background, and the writer goes on meanwhile.
            await self._search.changed(soon=only_new)
        if report.inserted and self._metadata is not None and self._use_guessit:
            self._metadata.wake()
        log.info(
            "files_indexed",
            inserted=report.inserted,
            updated=report.updated,
            duplicates=report.duplicates,
            skipped_types=len(batch) - len(records),
        )
        return report

    async def edited(self, incoming: IncomingFile) -> SaveReport:
        """An indexed channel's post was edited: its file is updated (a new caption), or,
        when the post now carries another file, the old one is removed and the new indexed."""
        current = await self._files.at_message(incoming.chat_id, incoming.message_id)
        if current is not None and current.id != incoming.unique_id:
            await self.remove_message(incoming.chat_id, incoming.message_id)
        return await self.index([incoming])

    async def searchable(self) -> None:
        """Wait until every file stored so far is in the search index."""
        await self._search.changed()

    async def count(self) -> int:
        return await self._files.count()

    async def last_sequence(self) -> int:
        """The newest change number (the search index's lag is measured from it)."""
        return await self._files.last_sequence()

    async def count_in_chat(self, chat_id: int) -> int:
        """Files indexed from this channel's posts."""
        return await self._files.count_in_chat(chat_id)

    async def delete(self, file_ids: Sequence[str]) -> int:
        """Delete these files (each leaves a tombstone, so every search index drops it)."""
        removed = 0
        for file_id in file_ids:
            removed += await self._files.delete(file_id)
        if removed:
            await self._search.changed()
        return removed

    async def delete_everything(self) -> int:
        """Delete every file (`/deleteall`), in batches, with tombstones."""
        removed = 0
        async for batch in self._files.scan(500):
            removed += await self.delete([f.id for f in batch])
        return removed

    async def remove_message(self, chat_id: int, message_id: int) -> bool:
        removed = await self._files.delete_message(chat_id, message_id)
        if removed:
            await self._search.changed()
        return removed

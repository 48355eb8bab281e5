"""Share links: unguessable `t.me/<bot>?start=l_<code>` links to one indexed file, with an
optional premium/free override, expiry and use limit; listed and revoked by their admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.clock import Clock
from core.models import FileRecord, LinkRecord
from core.utils.errors import NotFoundError
from core.utils.guards import Gate
from services.ports import FileRepository, LinkRepository

__all__ = ["LINK_PREFIX", "LinkOptions", "LinkService", "SharedFile"]

LINK_PREFIX = "l_"
"""A link's `/start` payload is this prefix and its code."""
LIST_LIMIT = 30

NOT_VALID = "This link is not valid: it was revoked or never existed."
EXPIRED = "This link has expired."
USED_UP = "This link has been used up."


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """What `/link` may add: an access override, a lifetime and a number of uses."""

    gate: Gate | None = None
    expires_in: timedelta | None = None
    uses: int | None = None


@dataclass(frozen=True, slots=True)
class SharedFile:
    """An opened link: the file it hands out (None: a batch link, to a range of channel posts)
    and the gate it imposes (None: each file's own)."""

    link: LinkRecord
    file: FileRecord | None
    gate: Gate | None


class LinkService:
    def __init__(self, links: LinkRepository, files: FileRepository, clock: Clock) -> None:
        self._links = links
        self._files = files
        self._clock = clock

    async def file(self, unique_id: str) -> FileRecord | None:
        """The indexed file a link would point at."""
        return await self._files.get(unique_id)

    async def create(self, file: FileRecord, by: int, options: LinkOptions) -> LinkRecord:
        now = self._clock.now()
        return await self._links.create(
            created_by=by,
            now=now,
            file_ids=(file.id,),
            premium=options.gate.value if options.gate else None,
            expires_at=now + options.expires_in if options.expires_in else None,
            max_uses=options.uses,
        )

    async def create_batch(
        self, chat_id: int, first: int, last: int, by: int, options: LinkOptions
    ) -> LinkRecord:
        """A link to posts first..last of an indexed channel (`/batch`)."""
        now = self._clock.now()
        return await self._links.create(
            created_by=by,
            now=now,
            chat_id=chat_id,
            first_message_id=first,
            last_message_id=last,
            premium=options.gate.value if options.gate else None,
            expires_at=now + options.expires_in if options.expires_in else None,
            max_uses=options.uses,
        )

    async def open(self, code: str) -> SharedFile:
        """The file behind `code`; a `NotFoundError` whose text says why a link is unusable
        (revoked or unknown, expired, used up, its file deleted). Uses are claimed by `claim`."""
        link = await self._links.get(code)
        if link is None:
            raise NotFoundError("link", user_message=NOT_VALID)
        now = self._clock.now()
        if link.expires_at is not None and now >= link.expires_at:
            raise NotFoundError("link", "link expired", user_message=EXPIRED)
        if link.max_uses is not None and link.uses >= link.max_uses:
            raise NotFoundError("link", "link used up", user_message=USED_UP)
        gate = Gate(link.premium) if link.premium in {"free", "premium"} else None
        if link.chat_id is not None:
            return SharedFile(link, None, gate)
        files = await self._files.get_many(link.file_ids)
        if not files:
            raise NotFoundError("file", user_message="This file is no longer available.")
        return SharedFile(link, files[0], gate)

    async def claim(self, link: LinkRecord) -> None:
        """Count one use (right before the file is sent); used up meanwhile: `NotFoundError`."""
        if not await self._links.claim_use(link.code, link.max_uses):
            raise NotFoundError("link", "link used up", user_message=USED_UP)

    async def mine(self, admin_id: int) -> list[LinkRecord]:
        return await self._links.by_creator(admin_id, LIST_LIMIT)

    async def file_names(self, links: list[LinkRecord]) -> dict[str, str]:
        """File name by unique id, for listing links."""
        ids = [i for link in links for i in link.file_ids]
        return {f.id: f.file_name for f in await self._files.get_many(ids)} if ids else {}

    async def revoke(self, code: str) -> bool:
        return await self._links.delete(code)

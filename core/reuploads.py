"""Another upload of a file the library holds: the same normalised name and size under another
Telegram id. What duplicate detection compares (storage keeps the name's digest, `dup`), shared
by the files repository and the importer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from core.models import FileRecord

__all__ = [
    "ReuploadOwners",
    "name_hash",
    "packed_reupload_key",
    "reupload_key",
    "split_reuploads",
]


def name_hash(name_key: str) -> int:
    """A signed 64-bit digest of a normalised name: what duplicate detection (same name and
    size, another upload) looks files up by, 8 bytes instead of the whole name."""
    digest = hashlib.blake2b(name_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


ReuploadOwners = dict[tuple[int, int], str]
"""(name digest, size) → the id of the file stored with them."""


def reupload_key(record: FileRecord) -> tuple[int, int]:
    return name_hash(record.name_key), record.file_size


def packed_reupload_key(digest: int, size: int) -> int:
    """(name digest, size) as one integer (a third of the memory of the pair): the digest's 64
    bits above the size's; exact, no collisions."""
    return ((digest & 0xFFFF_FFFF_FFFF_FFFF) << 64) | size


def split_reuploads(
    batch: Sequence[FileRecord], owners: ReuploadOwners
) -> tuple[list[FileRecord], list[str]]:
    """(the files to store, the ids of the others): a file whose name and size another file
    has (in `owners`, or earlier in the batch) is another upload of it."""
    keep: list[FileRecord] = []
    skipped: list[str] = []
    seen: set[tuple[int, int]] = set()
    for f in batch:
        key = reupload_key(f)
        owner = owners.get(key)
        if (owner is not None and owner != f.id) or key in seen:
            skipped.append(f.id)
            continue
        seen.add(key)
        keep.append(f)
    return keep, skipped

"""Telegram file ids, decoded with Pyrogram's own codec (no network)."""

from __future__ import annotations

from pyrogram.file_id import FileId, FileUniqueId, FileUniqueType

__all__ = ["unique_id_of"]


def unique_id_of(file_id: str) -> str | None:
    """The `file_unique_id` of a document, video or audio file id — also of the "packed" ids
    EvaMaria-family bots store (the file id without its file reference) — or None when the
    text is not a file id. The unique id is the same for every upload's id of one file, so
    duplicates are recognised across bots."""
    try:
        decoded = FileId.decode(file_id)
        unique = FileUniqueId(file_unique_type=FileUniqueType.DOCUMENT, media_id=decoded.media_id)
        # Pyrogram's codec is unannotated upstream.
        return str(unique.encode())  # type: ignore[no-untyped-call]
    except Exception:  # noqa: BLE001 - the codec raises anything from struct/base64/value errors
        return None

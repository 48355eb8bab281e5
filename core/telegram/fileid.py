"""Telegram file ids, decoded with Pyrogram's own codec (no network)."""

from __future__ import annotations

from pyrogram.file_id import FileId, FileUniqueId, FileUniqueType

__all__ = ["document_unique_id", "unique_id_of"]


def document_unique_id(media_id: int) -> str:
    """The `file_unique_id` of the document (file, video or audio) with this media id."""
    unique = FileUniqueId(file_unique_type=FileUniqueType.DOCUMENT, media_id=media_id)
    # Pyrogram's codec is unannotated upstream.
    return str(unique.encode())  # type: ignore[no-untyped-call]


def unique_id_of(file_id: str) -> str | None:
    """The `file_unique_id` of a document, video or audio file id — also of the "packed" ids
    EvaMaria-family bots store (the file id without its file reference) — or None when the
    text is not a file id. The unique id is the same for every upload's id of one file, so
    duplicates are recognised across bots."""
    try:
        return document_unique_id(FileId.decode(file_id).media_id)
    except Exception:  # noqa: BLE001 - the codec raises anything from struct/base64/value errors
        return None

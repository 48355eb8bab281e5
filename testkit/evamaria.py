"""EvaMaria-family data for tests and benchmarks: how those bots store a file."""

from __future__ import annotations

import base64
import struct
from typing import Any

from pyrogram.file_id import FileId, FileType

__all__ = ["evamaria_document", "evamaria_file_id", "telegram_file_id"]


def telegram_file_id(media_id: int, access_hash: int, *, reference: bytes = b"r") -> str:
    """A video's file id as Telegram gives it to a bot (Pyrogram's codec)."""
    return str(
        FileId(
            file_type=FileType.VIDEO,
            dc_id=2,
            media_id=media_id,
            access_hash=access_hash,
            file_reference=reference,
        ).encode()
    )


def evamaria_file_id(file_id: str) -> str:
    """EvaMaria's `unpack_new_file_id`: the file id packed again without its file reference
    (`encode_file_id(pack("<iiqq", type, dc, media_id, access_hash))`, version 4.22)."""
    decoded = FileId.decode(file_id)
    packed = struct.pack(
        "<iiqq", int(decoded.file_type), decoded.dc_id, decoded.media_id, decoded.access_hash
    )
    out, zeros = b"", 0
    for byte in packed + bytes([22]) + bytes([4]):
        if byte == 0:
            zeros += 1
            continue
        if zeros:
            out += b"\x00" + bytes([zeros])
            zeros = 0
        out += bytes([byte])
    return base64.urlsafe_b64encode(out).decode().rstrip("=")


def evamaria_document(
    media_id: int,
    name: str,
    *,
    access_hash: int | None = None,
    size: int = 700_000_000,
    caption: str | None = None,
) -> dict[str, Any]:
    """One document of an EvaMaria `Telegram_files` collection (umongo `Media`), plus a field
    a fork added."""
    file_id = telegram_file_id(media_id, access_hash if access_hash is not None else media_id * 7)
    return {
        "_id": evamaria_file_id(file_id),
        "file_ref": "AQADAgADxyzAAb3xKBbAAE",
        "file_name": name,
        "file_size": size,
        "file_type": "video",
        "mime_type": "video/x-matroska",
        "caption": caption if caption is not None else f"<b>{name}</b>",
        "extra_field_of_a_fork": True,
    }

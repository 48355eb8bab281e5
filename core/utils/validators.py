"""`Validators`: user input checked and normalised into `ValidationResult` values, never raised."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Generic, TypeVar

__all__ = [
    "CallbackData",
    "FieldError",
    "FileKind",
    "Page",
    "ValidationResult",
    "Validators",
    "utf16_length",
]

T = TypeVar("T")

# Telegram id ranges (as Pyrogram maps them): users, basic groups, channels/supergroups
# including ids minted after 2022 below -1002147483647, and monoforum channels.
MAX_USER_ID = (1 << 40) - 1
MAX_BASIC_GROUP_ID = 999_999_999_999
ZERO_CHANNEL_ID = -1_000_000_000_000
MIN_CHANNEL_ID = ZERO_CHANNEL_ID - 3_000_000_000_000

MAX_PAGE_SIZE = 50
MAX_OFFSET = 1_000
MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
CALLBACK_VERSION = "1"
_MAC_BYTES = 6  # 8 characters of base64url: forging one blindly takes ~2**48 tries
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"(\d+)\s*([mhdwy])")
_MAX_DURATION = timedelta(days=365 * 10)
_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CALLBACK_FIELD = re.compile(r"^[A-Za-z0-9_.~-]*$")
_POST_LINK = re.compile(
    r"^(?:https?://)?(?:t|telegram)\.me/(?:c/(\d{1,16})|([A-Za-z][A-Za-z0-9_]{3,31}))"
    r"/(?:\d{1,10}/)?(\d{1,10})/?(?:\?\S*)?$"
)
_CHANNEL_NAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
_CHANNEL_ID = re.compile(r"^-100\d{1,16}$")


class FileKind:
    """The media kinds the bot indexes and hands out."""

    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    ALL = frozenset({VIDEO, AUDIO, DOCUMENT})


# Allow-list: extension → kind. Anything else is not indexed.
_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys(
        ("mkv", "mp4", "avi", "mov", "webm", "m4v", "ts", "wmv", "flv", "mpg", "mpeg", "3gp"),
        FileKind.VIDEO,
    ),
    **dict.fromkeys(
        ("mp3", "flac", "m4a", "aac", "ogg", "opus", "wav", "wma", "alac", "m4b"), FileKind.AUDIO
    ),
    **dict.fromkeys(
        ("pdf", "epub", "mobi", "azw3", "djvu", "cbz", "cbr", "zip", "rar", "7z", "srt", "ass"),
        FileKind.DOCUMENT,
    ),
    **dict.fromkeys(("apk", "exe", "iso", "txt", "doc", "docx"), FileKind.DOCUMENT),
}
_ARCHIVE_MIMES = frozenset(
    {
        "application/pdf",
        "application/epub+zip",
        "application/zip",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-7z-compressed",
        "application/x-mobipocket-ebook",
        "application/vnd.android.package-archive",
        "application/x-subrip",
    }
)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ValidationResult(Generic[T]):
    """`ok` with a normalised `value`, or not ok with one error per offending field."""

    ok: bool
    value: T | None = None
    errors: tuple[FieldError, ...] = field(default_factory=tuple)

    @classmethod
    def success(cls, value: T) -> ValidationResult[T]:
        return cls(ok=True, value=value)

    @classmethod
    def failure(cls, field_name: str, message: str) -> ValidationResult[T]:
        return cls(ok=False, errors=(FieldError(field_name, message),))

    @property
    def message(self) -> str:
        """The errors as one user-readable sentence."""
        return "; ".join(e.message for e in self.errors)


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class CallbackData:
    action: str
    fields: tuple[str, ...]


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", value, re.ASCII):
        return int(value)
    return None


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Validators:
    """Checks for everything users and operators type; all static, all pure."""

    @staticmethod
    def user_id(value: object, field_name: str = "user_id") -> ValidationResult[int]:
        number = _as_int(value)
        if number is None or not 0 < number <= MAX_USER_ID:
            return ValidationResult.failure(field_name, "is not a Telegram user id")
        return ValidationResult.success(number)

    @staticmethod
    def chat_id(value: object, field_name: str = "chat_id") -> ValidationResult[int]:
        """Users, basic groups, and channels/supergroups in every current id range."""
        number = _as_int(value)
        if number is None:
            return ValidationResult.failure(field_name, "is not a chat id")
        if 0 < number <= MAX_USER_ID or -MAX_BASIC_GROUP_ID <= number < 0:
            return ValidationResult.success(number)
        if MIN_CHANNEL_ID <= number < ZERO_CHANNEL_ID:
            return ValidationResult.success(number)
        return ValidationResult.failure(field_name, "is outside every Telegram chat id range")

    @staticmethod
    def channel_id(value: object, field_name: str = "channel_id") -> ValidationResult[int]:
        number = _as_int(value)
        if number is None or not MIN_CHANNEL_ID <= number < ZERO_CHANNEL_ID:
            return ValidationResult.failure(field_name, "is not a channel id (-100…)")
        return ValidationResult.success(number)

    @staticmethod
    def pagination(page: object, page_size: object = 10) -> ValidationResult[Page]:
        number, size = _as_int(page), _as_int(page_size)
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            return ValidationResult.failure("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        if number is None or number < 1:
            return ValidationResult.failure("page", "must be a positive number")
        if (number - 1) * size >= MAX_OFFSET:
            return ValidationResult.failure("page", f"goes past the first {MAX_OFFSET} results")
        return ValidationResult.success(Page(number, size))

    @staticmethod
    def post_link(value: object) -> ValidationResult[tuple[int | str, int]]:
        """A channel post's link: `https://t.me/name/123` gives ("@name", 123),
        `https://t.me/c/1234567890/123` gives (-1001234567890, 123); a topic's post link
        (`.../c/<chat>/<topic>/<post>`) gives its post."""
        if not isinstance(value, str) or not (found := _POST_LINK.fullmatch(value.strip())):
            return ValidationResult.failure("link", "is not a link to a channel post")
        numeric, name, post = found.groups()
        chat: int | str = int(f"-100{numeric}") if numeric else f"@{name}"
        post_id = int(post)
        if post_id < 1:
            return ValidationResult.failure("link", "points to no post")
        return ValidationResult.success((chat, post_id))

    @staticmethod
    def channel_ref(value: object) -> ValidationResult[int | str]:
        """A channel as an admin names it: @name, name, -100… id, or a post link."""
        if not isinstance(value, str):
            return ValidationResult.failure("channel", "is missing")
        text = value.strip()
        if _CHANNEL_ID.fullmatch(text):
            return ValidationResult.success(int(text))
        if found := _CHANNEL_NAME.fullmatch(text):
            return ValidationResult.success(f"@{found.group(1)}")
        link = Validators.post_link(text)
        if link.ok and link.value is not None:
            return ValidationResult.success(link.value[0])
        return ValidationResult.failure(
            "channel", "is not a channel: use @name, its -100… id or a post link"
        )

    @staticmethod
    def page_number(value: object) -> int:
        """The page an inline offset or a page button asks for: plain ASCII digits within range,
        and page 1 for anything else (`"²"`, `"①"`, `"-3"`, `""`), never an exception."""
        if isinstance(value, int) and not isinstance(value, bool):
            number: int | None = value
        elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value, re.ASCII):
            number = int(value)  # exactly what the bot itself writes into offsets and buttons
        else:
            number = None
        return number if number is not None and 1 <= number <= MAX_OFFSET else 1

    @staticmethod
    def file_type(mime_type: str | None, file_name: str | None) -> ValidationResult[str]:
        """The file's kind from the allow-list, by extension first, then by mime type."""
        suffix = PurePosixPath(file_name or "").suffix.lower().lstrip(".")
        if suffix in _EXTENSIONS:
            return ValidationResult.success(_EXTENSIONS[suffix])
        mime = (mime_type or "").lower().split(";")[0].strip()
        if mime.startswith("video/"):
            return ValidationResult.success(FileKind.VIDEO)
        if mime.startswith("audio/"):
            return ValidationResult.success(FileKind.AUDIO)
        if mime in _ARCHIVE_MIMES:
            return ValidationResult.success(FileKind.DOCUMENT)
        return ValidationResult.failure("file_type", "is not a file type the bot indexes")

    @staticmethod
    def search_query(
        text: object, *, min_length: int = 2, max_length: int = 200
    ) -> ValidationResult[str]:
        """Trimmed, NFC, whitespace collapsed; control characters rejected; anything else kept
        verbatim (regex metacharacters included: search never builds a regex from it)."""
        if not isinstance(text, str):
            return ValidationResult.failure("query", "must be text")
        if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
            return ValidationResult.failure("query", "contains control characters")
        cleaned = " ".join(unicodedata.normalize("NFC", text).split())
        if len(cleaned) < min_length:
            return ValidationResult.failure("query", f"must be at least {min_length} characters")
        if len(cleaned) > max_length:
            return ValidationResult.failure("query", f"must be at most {max_length} characters")
        return ValidationResult.success(cleaned)

    @staticmethod
    def encode_callback(action: str, *fields: str | int, secret: bytes) -> str:
        """`1|action|f1|f2|mac`; raises ValueError (a programming error) when over 64 bytes."""
        parts = [action, *map(str, fields)]
        if not all(_CALLBACK_FIELD.fullmatch(p) for p in parts) or not action:
            raise ValueError("callback fields must be non-empty url-safe tokens")
        payload = "|".join([CALLBACK_VERSION, *parts])
        data = f"{payload}|{_mac(secret, payload)}"
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data is {len(data.encode())} bytes, over 64")
        return data

    @staticmethod
    def callback_data(data: object, *, secret: bytes) -> ValidationResult[CallbackData]:
        """Parse callback data made by `encode_callback`; stale versions and forgeries fail."""
        if not isinstance(data, str | bytes):
            return ValidationResult.failure("callback", "is missing")
        text = data.decode(errors="replace") if isinstance(data, bytes) else data
        if len(text.encode()) > MAX_CALLBACK_BYTES:
            return ValidationResult.failure("callback", "is too long")
        parts = text.split("|")
        if len(parts) < 3 or parts[0] != CALLBACK_VERSION:  # noqa: PLR2004 - version|action|mac
            return ValidationResult.failure("callback", "is from an older version of the bot")
        payload, mac = "|".join(parts[:-1]), parts[-1]
        if not hmac.compare_digest(mac, _mac(secret, payload)):
            return ValidationResult.failure("callback", "failed its integrity check")
        return ValidationResult.success(CallbackData(parts[1], tuple(parts[2:-1])))

    @staticmethod
    def deep_link_payload(value: object) -> ValidationResult[str]:
        """A `/start` payload: 1 to 64 characters of A-Z a-z 0-9 _ - (Telegram's own rule)."""
        if not isinstance(value, str) or not _DEEP_LINK.fullmatch(value):
            return ValidationResult.failure("payload", "is not a valid start link")
        return ValidationResult.success(value)

    @staticmethod
    def duration(value: object) -> ValidationResult[timedelta]:
        """`30d`, `12h`, `45m`, `2w`, `1y`, or combinations like `1d12h`; up to 10 years."""
        if not isinstance(value, str):
            return ValidationResult.failure("duration", "must be text like 30d or 12h")
        text = value.strip().lower().replace(" ", "")
        matches = list(_DURATION.finditer(text))
        if not text or "".join(m.group(0) for m in matches) != text:
            return ValidationResult.failure("duration", "must look like 30d, 12h, 45m, 2w or 1y")
        seconds = sum(int(m.group(1)) * _DURATION_UNITS[m.group(2)] for m in matches)
        if seconds <= 0:
            return ValidationResult.failure("duration", "must be longer than zero")
        if seconds > _MAX_DURATION.total_seconds():
            return ValidationResult.failure("duration", "must be at most 10 years")
        return ValidationResult.success(timedelta(seconds=seconds))

    @staticmethod
    def message_text(text: str) -> ValidationResult[str]:
        if not text.strip():
            return ValidationResult.failure("text", "is empty")
        if utf16_length(text) > MAX_MESSAGE:
            return ValidationResult.failure("text", f"is longer than {MAX_MESSAGE} characters")
        return ValidationResult.success(text)

    @staticmethod
    def caption(text: str) -> ValidationResult[str]:
        if utf16_length(text) > MAX_CAPTION:
            return ValidationResult.failure("caption", f"is longer than {MAX_CAPTION} characters")
        return ValidationResult.success(text)

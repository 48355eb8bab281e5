"""Name normalisation shared by indexing and querying: NFKC, casefold, accent folding (Latin
only), separators split, extension dropped, adjacent tokens also joined."""

from __future__ import annotations

import itertools
import re
import unicodedata

__all__ = [
    "fold",
    "fuzzy_distance",
    "index_terms",
    "joined_pairs",
    "name_terms",
    "normalize",
    "strip_extension",
    "terms_of",
    "tokenize",
]

# Extensions the bot indexes; `Dark.City.1998.mkv` → `Dark.City.1998`.
_EXTENSION = re.compile(
    r"\.(mkv|mp4|avi|mov|webm|m4v|ts|wmv|flv|mpg|mpeg|3gp|mp3|flac|m4a|aac|ogg|opus|wav|wma|"
    r"m4b|pdf|epub|mobi|azw3|djvu|cbz|cbr|zip|rar|7z|srt|ass|apk|exe|iso|txt|docx?)$",
    re.IGNORECASE,
)
# Anything that is not a letter, digit or combining mark separates tokens: . _ - + [ ] ( ) , '
_SEPARATORS = re.compile(r"[^\w\u0300-\u036f\u0900-\u0dff]+|_+")
MAX_TOKENS = 40


def _is_latin(char: str) -> bool:
    return char < "\u0250" or "\u1e00" <= char <= "\u1eff"


def fold(text: str) -> str:
    """NFKC + casefold, then strip accents from Latin letters only (é→e; Devanagari kept)."""
    if text.isascii():  # most release names: NFKC and accents change nothing
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    out: list[str] = []
    previous = ""
    for char in decomposed:
        if unicodedata.combining(char) and _is_latin(previous):
            continue  # an accent on a Latin letter
        out.append(char)
        if not unicodedata.combining(char):
            previous = char
    return unicodedata.normalize("NFC", "".join(out))


def strip_extension(name: str) -> str:
    return _EXTENSION.sub("", name.strip())


def tokenize(text: str) -> list[str]:
    """Folded tokens in order; empty strings never appear."""
    return [t for t in _SEPARATORS.split(fold(text)) if t][:MAX_TOKENS]


def normalize(text: str) -> str:
    """The canonical form of a name or query: tokens joined by single spaces."""
    return " ".join(tokenize(text))


def joined_pairs(tokens: list[str]) -> list[str]:
    """Adjacent tokens written together: ["spider", "man"] → ["spiderman"]."""
    return [a + b for a, b in itertools.pairwise(tokens) if not (a.isdigit() and b.isdigit())]


def index_terms(tokens: list[str]) -> list[str]:
    """What a file is indexed under: its tokens plus joined adjacent pairs, deduplicated."""
    return list(dict.fromkeys([*tokens, *joined_pairs(tokens)]))


def name_terms(name: str) -> tuple[tuple[str, ...], str]:
    """What a file name is found by, derived again whenever a file is read (MongoDB stores
    only the name): its index terms (tokens plus joined neighbours) and its normalised key."""
    return terms_of(tokenize(strip_extension(name)))


def terms_of(tokens: list[str]) -> tuple[tuple[str, ...], str]:
    """`name_terms` from a name's tokens."""
    return tuple(index_terms(tokens)), " ".join(tokens)


def fuzzy_distance(term: str) -> int:
    """The edit distance a query word may be off by: 0 below 4 characters, 1 from 4, 2 from 8
    (a transposition counts as one edit). Numbers are never fuzzy: 1998 is not 1999."""
    if term.isdigit() or len(term) < 4:  # noqa: PLR2004 - the issue's thresholds
        return 0
    return 2 if len(term) >= 8 else 1  # noqa: PLR2004

"""Queries parsed exactly like names: terms to match, a prefix while typing, metadata filters."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.search.metadata import markers
from core.search.normalize import joined_pairs, tokenize

__all__ = ["ParsedQuery", "parse_query"]

_KIND = re.compile(
    r"#(video|videos|audio|music|document|documents|doc|docs|file|files)\b", re.IGNORECASE
)
_KINDS = {
    "video": "video",
    "videos": "video",
    "audio": "audio",
    "music": "audio",
    "document": "document",
    "documents": "document",
    "doc": "document",
    "docs": "document",
    "file": "document",
    "files": "document",
}


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: tuple[str, ...]  # every one must match a file's terms exactly
    prefix: str | None = None  # the last word while typing inline: matched as a prefix
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    resolution: str | None = None
    kind: str | None = None  # video | audio | document

    @property
    def empty(self) -> bool:
        return not self.terms and self.prefix is None

    @property
    def key(self) -> str:
        """Canonical and order-independent: "city dark" and "dark  City" share a key."""
        parts = sorted(self.terms)
        if self.prefix is not None:
            parts.append(f"{self.prefix}*")
        for name in ("year", "season", "episode", "resolution", "kind"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        return " ".join(parts)

    @property
    def words(self) -> list[str]:
        """The words to show back to the user."""
        return [*self.terms, *([self.prefix] if self.prefix else [])]

    def variants(self) -> list[tuple[str, ...]]:
        """The terms, plus each adjacent pair written together ("spider man" → "spiderman")."""
        found = [self.terms]
        terms = list(self.terms)
        for i, joined in enumerate(joined_pairs(terms)):
            found.append((*terms[:i], joined, *terms[i + 2 :]))
        return found

    @classmethod
    def from_key(cls, key: str) -> ParsedQuery:
        """The inverse of `key` (terms come back sorted)."""
        terms: list[str] = []
        prefix: str | None = None
        filters: dict[str, str] = {}
        for part in key.split(" "):
            if "=" in part:
                name, value = part.split("=", 1)
                filters[name] = value
            elif part.endswith("*"):
                prefix = part[:-1]
            elif part:
                terms.append(part)

        def number(name: str) -> int | None:
            value = filters.get(name)
            return int(value) if value is not None and value.isdigit() else None

        return cls(
            terms=tuple(terms),
            prefix=prefix,
            year=number("year"),
            season=number("season"),
            episode=number("episode"),
            resolution=filters.get("resolution"),
            kind=filters.get("kind"),
        )


def parse_query(text: str, *, prefix: bool = False) -> ParsedQuery:
    """Parse a (validated) query; with `prefix`, an unfinished last word matches as a prefix."""
    kind = None
    kind_match = _KIND.search(text)
    if kind_match:
        kind = _KINDS[kind_match.group(1).lower()]
        text = _KIND.sub(" ", text)
    tokens = tokenize(text)
    found = markers(tokens)
    words = [t for i, t in enumerate(tokens) if i not in found.filters]
    if not words:  # only metadata, e.g. "1080p": search for the tokens themselves too
        words = tokens
    last: str | None = None
    if prefix and words and not text[-1:].isspace():  # a trailing space finishes the word
        last = words.pop()
    return ParsedQuery(
        terms=tuple(dict.fromkeys(words)),
        prefix=last,
        year=found.year,
        season=found.season,
        episode=found.episode,
        resolution=found.resolution,
        kind=kind,
    )

"""Metadata in names and queries: year, season/episode, resolution, source, language, title.

`markers()` is a fast, deterministic regex pass used for both file names and queries, so a
query's `s02e03`, `2x05`, `2019` or `1080p` filters on exactly what indexing stored. `describe()`
adds guessit's reading of a file name (title, source, language); guessit takes ~20 ms a name,
so indexing stores a file with the fast pass alone (searchable at once) and the metadata
service completes it later in worker processes (`describe_all`); queries never call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from core.search.normalize import strip_extension, tokenize

__all__ = ["FileMetadata", "Markers", "describe", "describe_all", "markers"]

_YEAR = re.compile(r"^(19[2-9]\d|20[0-4]\d)$")
_SXXEYY = re.compile(r"^s(\d{1,2})e(\d{1,3})$")
_NXMM = re.compile(r"^(\d{1,2})x(\d{1,3})$")
_SEASON = re.compile(r"^s(\d{1,2})$")
_EPISODE = re.compile(r"^e(\d{1,3})$")
_NUMBER = re.compile(r"^\d{1,4}$")
# Words that put a season or an episode number in the next token: "Season 2 Episode 5",
# "Temporada 1", "Tem.1 Cap.112" (Spanish releases: cap 112 is season 1, episode 12).
_SEASON_WORDS = frozenset({"season", "temporada", "tem", "saison", "staffel"})
_EPISODE_WORDS = frozenset({"episode", "ep", "episodio", "folge"})
_CHAPTER_WORDS = frozenset({"cap", "capitulo"})
_RESOLUTION = re.compile(r"^(240|360|480|540|576|720|1080|1440|2160|4320)[pi]$")
_RESOLUTION_ALIASES = {"4k": "2160p", "uhd": "2160p", "8k": "4320p", "fhd": "1080p", "hd": "720p"}
_SOURCES = {
    "bluray": "bluray",
    "bdrip": "bluray",
    "brrip": "bluray",
    "remux": "bluray",
    "webdl": "web",
    "webrip": "web",
    "web": "web",
    "hdtv": "hdtv",
    "dvdrip": "dvd",
    "dvd": "dvd",
    "cam": "cam",
    "hdcam": "cam",
    "ts": "cam",
}


@dataclass(frozen=True, slots=True)
class Markers:
    """What the marker pass recognised, and which tokens it consumed."""

    year: int | None = None
    season: int | None = None
    episode: int | None = None
    resolution: str | None = None
    source: str | None = None
    consumed: frozenset[int] = frozenset()  # token positions that were markers
    filters: frozenset[int] = frozenset()  # the ones a query turns into filters (not sources)


def _numbered(word: str, following: str) -> tuple[int | None, int | None] | None:
    """(season, episode) from a word and the number after it: "season 2", "episode 5",
    "cap 112" (season 1, episode 12) or "cap 4"; None when they are not such a pair."""
    if not _NUMBER.match(following):
        return None
    number = int(following)
    if word in _SEASON_WORDS:
        return number, None
    if word in _EPISODE_WORDS:
        return None, number
    if word in _CHAPTER_WORDS:
        if len(following) >= 3:  # noqa: PLR2004 - "cap 112": season 1, episode 12
            return number // 100, number % 100
        return None, number
    return None


def markers(tokens: list[str]) -> Markers:
    """Recognise metadata tokens (year, SxxEyy, NxMM, sNN, eNN, resolution, source)."""
    year = season = episode = None
    resolution = source = None
    consumed: set[int] = set()
    sources: set[int] = set()
    for i, token in enumerate(tokens):
        numbered = _numbered(token, tokens[i + 1] if i + 1 < len(tokens) else "")
        if numbered is not None:
            season = numbered[0] if numbered[0] is not None else season
            episode = numbered[1] if numbered[1] is not None else episode
            consumed.add(i + 1)
        elif (m := _SXXEYY.match(token)) or (m := _NXMM.match(token)):
            season, episode = int(m.group(1)), int(m.group(2))
        elif m := _SEASON.match(token):
            season = int(m.group(1))
        elif (m := _EPISODE.match(token)) and season is not None:
            episode = int(m.group(1))
        elif _RESOLUTION.match(token):
            resolution = token[:-1] + "p"
        elif token in _RESOLUTION_ALIASES:
            resolution = _RESOLUTION_ALIASES[token]
        elif _YEAR.match(token) and i > 0:  # a leading number is a title ("1917", "2012")
            year = int(token)
        elif token in _SOURCES and i > 0:
            source = _SOURCES[token]
            sources.add(i)
            if _SOURCES[token] == "web" and i + 1 < len(tokens) and tokens[i + 1] in {"dl", "rip"}:
                consumed.add(i + 1)
                sources.add(i + 1)
        else:
            continue
        consumed.add(i)
    return Markers(
        year,
        season,
        episode,
        resolution,
        source,
        frozenset(consumed),
        frozenset(consumed - sources),
    )


@dataclass(frozen=True, slots=True)
class FileMetadata:
    """What is stored next to a file for filtering and ranking."""

    title: str
    title_terms: tuple[str, ...]
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    resolution: str | None = None
    quality: str | None = None
    language: str | None = None


def _title_from_markers(tokens: list[str], found: Markers) -> list[str]:
    """The tokens before the first marker: `dark city` in `dark city 1998 720p ...`."""
    first = min(found.consumed) if found.consumed else len(tokens)
    return tokens[:first] or tokens[:3]


def describe(
    name: str, *, use_guessit: bool = True, tokens: list[str] | None = None
) -> FileMetadata:
    """Metadata for a file name: the marker pass, completed by guessit when available.
    `tokens`: the name's tokens, when the caller has them already."""
    if tokens is None:
        tokens = tokenize(strip_extension(name))
    found = markers(tokens)
    title_tokens = _title_from_markers(tokens, found)
    meta = FileMetadata(
        title=" ".join(title_tokens),
        title_terms=tuple(title_tokens),
        year=found.year,
        season=found.season,
        episode=found.episode,
        resolution=found.resolution,
        quality=found.source,
    )
    if not use_guessit:
        return meta
    guess = _guess(name)
    title = guess.get("title")
    if isinstance(title, str) and tokenize(title):
        meta = replace(meta, title=" ".join(tokenize(title)), title_terms=tuple(tokenize(title)))
    language = guess.get("language")
    if language is not None:
        meta = replace(meta, language=str(language))
    if meta.episode is None:  # forms the marker pass does not know: "Show.0307", "Show.106"
        season, episode = guess.get("season"), guess.get("episode")
        if isinstance(episode, int) and not isinstance(episode, bool):
            meta = replace(
                meta,
                season=season if isinstance(season, int) and meta.season is None else meta.season,
                episode=episode,
            )
    return meta


def describe_all(names: list[str]) -> list[FileMetadata]:
    """`describe` with the accurate parser for a batch of names (what a worker process of the
    metadata service runs; module-level so it can be sent to one)."""
    return [describe(name) for name in names]


def _guess(name: str) -> dict[str, Any]:
    from guessit import guessit  # noqa: PLC0415 - heavy import, only where names are indexed

    try:
        return dict(guessit(name))
    except Exception:  # noqa: BLE001 - guessit can fail on odd names; the marker pass stands
        return {}

"""Matching and ranking of candidate files against a parsed query (pure functions)."""

from __future__ import annotations

from core.models import FileRecord
from core.search.query import ParsedQuery

__all__ = ["matches", "rank", "score"]


def matches(record: FileRecord, query: ParsedQuery) -> bool:
    """Every term present (any order), the prefix starting some term, every filter equal."""
    terms = set(record.terms)
    if not all(t in terms for t in query.terms):
        return False
    if query.prefix is not None and not any(t.startswith(query.prefix) for t in record.terms):
        return False
    return matches_filters(record, query)


def matches_filters(record: FileRecord, query: ParsedQuery) -> bool:
    """Every filter of the query (year, season, episode, resolution, type) equal."""
    return (
        (query.year is None or record.year == query.year)
        and (query.season is None or record.season == query.season)
        and (query.episode is None or record.episode == query.episode)
        and (query.resolution is None or record.resolution == query.resolution)
        and (query.kind is None or record.file_type == query.kind)
    )


def score(record: FileRecord, query: ParsedQuery) -> float:
    """Title words matched, an exact title; shorter names first.

    Deliberately blind to the order the words were typed in: a page is recomputed from the
    order-independent query key, and must rank the same as when it was first shown.
    """
    title = record.title_terms
    title_set = set(title)
    points = 3.0 * sum(1 for w in query.terms if w in title_set)
    if query.prefix is not None and any(t.startswith(query.prefix) for t in title):
        points += 2.0
    typed = set(query.terms) | ({query.prefix} if query.prefix else set())
    if title_set and title_set <= typed:
        points += 5.0  # the whole title was typed: "dark city" for "Dark City (1998)"
    return points - 0.05 * len(record.terms)


def rank(records: list[FileRecord], query: ParsedQuery) -> list[FileRecord]:
    """Best first; ties go to the newest file, then the id (a stable order for paging)."""
    return sorted(
        records,
        key=lambda r: (-score(r, query), -r.indexed_at.timestamp(), r.id),
    )

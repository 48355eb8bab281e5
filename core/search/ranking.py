"""Matching and ranking of candidate files against a parsed query (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from core.models import FileRecord
from core.search.fulltext import Hit
from core.search.normalize import fuzzy_distance
from core.search.query import ParsedQuery
from core.search.scoring import file_key, score

__all__ = [
    "could_match",
    "matches",
    "matches_filters",
    "rank",
    "within_typo",
]


def matches(record: FileRecord, query: ParsedQuery) -> bool:
    """Every term present (any order), the prefix starting some term, every filter equal."""
    terms = set(record.terms)
    if not all(t in terms for t in query.terms):
        return False
    if query.prefix is not None and not any(t.startswith(query.prefix) for t in record.terms):
        return False
    return matches_filters(record, query)


def within_typo(word: str, terms: Iterable[str]) -> bool:
    """Whether `word` is one of `terms`, or within its typo distance of one (as the full-text
    index matches: `fuzzy_distance`, a swap of two letters counting as one edit)."""
    choices = terms if isinstance(terms, set | frozenset) else set(terms)
    if word in choices:
        return True
    distance = fuzzy_distance(word)
    if not distance:
        return False
    return process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=distance) is not None


def could_match(record: FileRecord, query: ParsedQuery) -> bool:
    """Whether `record` can be among the results of `query`, typo matches included (which
    cached results a new or changed file makes stale)."""
    terms = set(record.terms)
    if query.prefix is not None and not any(t.startswith(query.prefix) for t in terms):
        return False
    if not matches_filters(record, query):
        return False
    return any(all(within_typo(word, terms) for word in variant) for variant in query.variants())


def matches_filters(record: FileRecord, query: ParsedQuery) -> bool:
    """Every filter of the query (year, season, episode, resolution, type) equal."""
    return (
        (query.year is None or record.year == query.year)
        and (query.season is None or record.season == query.season)
        and (query.episode is None or record.episode == query.episode)
        and (query.resolution is None or record.resolution == query.resolution)
        and (query.kind is None or record.file_type == query.kind)
    )


def rank(hits: list[Hit], query: ParsedQuery) -> list[Hit]:
    """Best first (`core.search.scoring.score`); ties go to the newest file, then its key (a
    stable order for paging): the order the index's own ranking gives (`TantivyIndex.rank`)."""
    return sorted(
        hits,
        key=lambda h: (-score(h.title, h.n, query.terms, query.prefix), -h.at, file_key(h.id)),
    )

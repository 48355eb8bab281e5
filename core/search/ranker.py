"""The best matches of a query in score order (`core/search/scoring.py`), from the index's fast
fields: no stored document is read to rank, count or facet, however many files match.

Files are split into groups of equal points, which the query words decide: which of them
the title has, whether a title word starts with the prefix, whether the whole title was
typed (the title's words, sorted, are one `title_key` term: a title typed whole is one of
the few `title_key` values made of typed words). Within a group the score order is the
`order` fast field's (fewer terms, then newer), so tantivy's top-k collector on it returns
a group's best files; groups are read best first until no later one can reach the page
(a group of `p` points scores at most `SCALE * p - 1`). Equal `order` values at a group's
cut are all read, and broken by key, so the result is exactly the exhaustive ranking.

Few matches (`STORED_RANK_MAX`) are ranked from their stored documents instead: reading
them costs less than a query per group. A query of more than `MAX_GROUP_WORDS` distinct
words (and prefix) would have too many groups: it is ranked from the stored documents of
its `SCAN_CAP` shortest matches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations

import tantivy

from core.search.scoring import (
    PREFIX_POINTS,
    SCALE,
    TITLE_WORD_POINTS,
    file_key,
    points,
    score,
    split_order,
)

__all__ = [
    "KIND_CODES",
    "MAX_GROUP_WORDS",
    "SCAN_CAP",
    "STORED_RANK_MAX",
    "Entry",
    "Ranker",
    "count",
    "prefix_query",
]

STORED_RANK_MAX = 64  # matches ranked from their stored documents (about 20 µs each)
MAX_GROUP_WORDS = 6  # distinct words (and the prefix) up to which files are ranked by group
SCAN_CAP = 2_000  # beyond that: the stored documents of the shortest matches, at most this many
KIND_CODES = ("", "video", "audio", "document")  # the `kind_code` fast field; 0: read `kind`

Entry = tuple[int, int, int, str]  # (-score, -at, key, kind): sorted ascending is best first

_MUST = tantivy.Occur.Must
_MUST_NOT = tantivy.Occur.MustNot
_SHOULD = tantivy.Occur.Should
_REGEX_SPECIAL = frozenset('.^$*+?()[]{}|\\#&~<>"@')


def prefix_query(schema: tantivy.Schema, field: str, prefix: str) -> tantivy.Query:
    """Terms of `field` that start with `prefix` (taken literally)."""
    literal = "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in prefix)
    return tantivy.Query.regex_query(schema, field, literal + ".*")


def count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """How many files `query` matches (tantivy counts them without collecting any)."""
    result = searcher.search(query, limit=1, count=True)
    found = getattr(result, "count", None)  # the package's type stub leaves `count` out
    return int(found or 0)


class Ranker:
    """Ranks the matches of one query (its words and prefix decide the groups)."""

    def __init__(
        self,
        searcher: tantivy.Searcher,
        schema: tantivy.Schema,
        words: Sequence[str],
        prefix: str | None,
    ) -> None:
        self._searcher = searcher
        self._schema = schema
        self._words = tuple(words)
        self._prefix = prefix
        self._groups = self._make_groups()

    def top(self, base: tantivy.Query, matches: int, want: int) -> list[Entry]:
        """The best `want` of the `matches` files that `base` matches, best first."""
        if want <= 0 or matches <= 0:
            return []
        if matches <= STORED_RANK_MAX:
            return self._from_stored(base, matches, want)
        if self._groups is None:
            return self._from_stored(base, min(matches, SCAN_CAP), want)
        return self._by_group(base, want)

    # --- few matches: their stored documents ----------------------------------------------

    def _from_stored(self, base: tantivy.Query, limit: int, want: int) -> list[Entry]:
        searcher = self._searcher
        found = searcher.search(
            base, limit=limit, count=False, order_by_field="order", order=tantivy.Order.Asc
        )
        entries: list[Entry] = []
        for _order, address in found.hits:
            stored = searcher.doc(address).to_dict()
            ids = stored.get("id")
            if not ids:
                continue
            title = [str(t) for t in stored.get("title", ())]
            n = int(stored.get("n", [0])[0])
            entries.append(
                (
                    -score(title, n, self._words, self._prefix),
                    -int(stored.get("at", [0])[0]),
                    file_key(str(ids[0])),
                    str(stored.get("kind", [""])[0]),
                )
            )
        entries.sort()
        return entries[:want]

    # --- many matches: group by group ------------------------------------------------------

    def _by_group(self, base: tantivy.Query, want: int) -> list[Entry]:
        assert self._groups is not None  # noqa: S101 - `top` checks
        best: list[Entry] = []
        for group_points, group in self._groups:
            if len(best) >= want and -best[want - 1][0] > SCALE * group_points - 1:
                break  # no file of this group (or a later one) can reach the page
            query = tantivy.Query.boolean_query([(_MUST, base), (_MUST, group)])
            best.extend(self._group_best(query, group_points, want))
            best.sort()
            del best[want:]
        return best

    def _group_best(self, query: tantivy.Query, group_points: int, want: int) -> list[Entry]:
        searcher = self._searcher
        hits = searcher.search(
            query, limit=want + 1, count=False, order_by_field="order", order=tantivy.Order.Asc
        ).hits
        if len(hits) > want and hits[want][0] == hits[want - 1][0]:
            # Files of equal order at the cut: all of them, their keys decide.
            tied = hits[want - 1][0]
            with_tied = tantivy.Query.boolean_query(
                [(_MUST, query), (_MUST, tantivy.Query.term_query(self._schema, "order", tied))]
            )
            everyone = searcher.search(with_tied, limit=count(searcher, with_tied), count=False)
            hits = [h for h in hits if h[0] != tied] + [(tied, a) for _, a in everyone.hits]
        addresses = [address for _order, address in hits]
        keys = searcher.fast_field_values("key", addresses)
        codes = searcher.fast_field_values("kind_code", addresses)
        entries: list[Entry] = []
        for (order, address), key, raw_code in zip(hits, keys, codes, strict=True):
            n, at = split_order(int(order))
            code = int(raw_code or 0)
            kind = KIND_CODES[code] if 0 < code < len(KIND_CODES) else self._kind(address)
            entries.append((-(SCALE * group_points - n), -at, int(key or 0), kind))
        return entries

    def _kind(self, address: tantivy.DocAddress) -> str:
        return str(self._searcher.doc(address).to_dict().get("kind", [""])[0])

    def _make_groups(self) -> list[tuple[int, tantivy.Query]] | None:
        """One query per points value a file can have, best first: titles typed whole (one
        `title_key` term per combination of typed words), then the rest by which query words
        the title has and whether a title word starts with the prefix."""
        distinct = tuple(dict.fromkeys(self._words))
        prefix = self._prefix
        typed = tuple(dict.fromkeys((*distinct, *((prefix,) if prefix else ()))))
        if len(typed) > MAX_GROUP_WORDS:
            return None
        schema = self._schema
        whole: dict[int, list[tantivy.Query]] = {}
        for size in range(1, len(typed) + 1):
            for title in combinations(typed, size):
                key = " ".join(sorted(title))
                term = tantivy.Query.term_query(schema, "title_key", key)
                whole.setdefault(points(title, self._words, prefix), []).append(term)
        typed_whole = _any([q for queries in whole.values() for q in queries]) if whole else None
        times = Counter(self._words)
        in_title = {w: tantivy.Query.term_query(schema, "title", w) for w in distinct}
        starts = prefix_query(schema, "title", prefix) if prefix is not None else None
        rest: dict[int, list[tantivy.Query]] = {}
        for size in range(len(distinct) + 1):
            for having in combinations(distinct, size):
                clauses = [(_MUST, tantivy.Query.all_query())]
                clauses += [(_MUST if w in having else _MUST_NOT, q) for w, q in in_title.items()]
                group_points = TITLE_WORD_POINTS * sum(times[w] for w in having)
                for starting in (False, True) if starts is not None else (False,):
                    extra = [(_MUST if starting else _MUST_NOT, starts)] if starts else []
                    rest.setdefault(group_points + PREFIX_POINTS * starting, []).append(
                        tantivy.Query.boolean_query(clauses + extra)
                    )
        groups = [(p, _any(queries)) for p, queries in whole.items()]
        for p, queries in rest.items():
            clauses = [(_MUST, _any(queries))]
            if typed_whole is not None:
                clauses.append((_MUST_NOT, typed_whole))
            groups.append((p, tantivy.Query.boolean_query(clauses)))
        groups.sort(key=lambda group: -group[0])
        return groups


def _any(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(_SHOULD, q) for q in queries])

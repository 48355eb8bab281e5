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

Few matches are ranked from their stored documents instead (up to `STORED_RANK_MAX` exact
matches, `STORED_TYPO_MAX` typo matches, whose query would read its typo forms' postings again
for each group): reading them costs less than a query per group. A first pass counts the matches
to choose, unless the query's rarest word is in more than `FIRST_PASS_MAX` files or the caller
estimates a typo query's matches above `STORED_TYPO_MAX` (`many`): then they are many.
Groups that no title can fill (a word no title has) are not asked. A query of more than
`MAX_GROUP_WORDS` distinct words (and prefix) would have too many groups: it is ranked from
the stored documents of its `SCAN_CAP` shortest matches.

A title's words are terms of its name (`core/search/fulltext.py` indexes no other), so within a
group whose titles have some of the query's words, the name has them too: the caller's `Within`
rewrites the query for the group without them (`TantivyIndex._rank`). A group whose titles have
every word of one of the query's ways of writing it is read by its title words and the filters
alone, without intersecting the name's postings again (about 1.5 of 3.3 ms for two common words
at a million files); a typo query drops the typo forms of each word the titles have, and asks
no group whose titles have all its words (such files match exactly, so they are no typo
matches).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import tantivy

from core.search.scoring import (
    AT_BITS,
    MAX_AT,
    PREFIX_POINTS,
    SCALE,
    TITLE_WORD_POINTS,
    file_key,
    points,
    score,
)

__all__ = [
    "FIRST_PASS_MAX",
    "KIND_CODES",
    "MAX_GROUP_WORDS",
    "SCAN_CAP",
    "STORED_RANK_MAX",
    "STORED_TYPO_MAX",
    "TIED_READ",
    "Clause",
    "Entry",
    "Ranker",
    "Within",
    "count",
    "prefix_query",
]

STORED_RANK_MAX = 64  # matches ranked from their stored documents (about 8 µs each)
# Typo matches, up to this many: each group's query would read the typo forms' postings again
# (0.4-0.8 ms at a million files), more than reading these documents.
STORED_TYPO_MAX = 400
MAX_GROUP_WORDS = 6  # distinct words (and the prefix) up to which files are ranked by group
# Without a first pass that counts the matches: when the rarest word of the query is in more
# files than this (a pass over its postings costs about 1 ms at a million files, more than
# a group's query), the matches are many and read group by group at once.
FIRST_PASS_MAX = 50_000
TIED_READ = 1_000  # files of equal `order` at a group's cut read by one query (a batch's worth)
SCAN_CAP = 2_000  # beyond that: the stored documents of the shortest matches, at most this many
KIND_CODES = ("", "video", "audio", "document")  # the `kind_code` fast field; 0: read `kind`
_KIND_OF = {code: kind for code, kind in enumerate(KIND_CODES) if kind}

Entry = tuple[int, int, int, str]  # (-score, -at, key, kind): sorted ascending is best first
Clause = tuple[tantivy.Occur, tantivy.Query]
# `top`'s base among the files whose titles have these words (and, when True, a word that starts
# with the prefix): the clauses that select its files there (none: every such file), or None
# when no such file matches it.
Within = Callable[[frozenset[str], bool], list[Clause] | None]


@dataclass(frozen=True, slots=True)
class _Group:
    points: int
    clauses: list[Clause]
    # What every file of the group has in its title: these words, and a word that starts with
    # the prefix (`starts`).
    having: frozenset[str]
    starts: bool


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
    return _count_of(searcher.search(query, limit=1, count=True))


def _count_of(result: tantivy.SearchResult) -> int:
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
        self._groups: list[_Group] | None = None  # made when first needed
        self._grouped = len(_typed(self._words, prefix)) <= MAX_GROUP_WORDS

    def top(
        self,
        base: tantivy.Query,
        want: int,
        *,
        at_most: int | None = None,
        stored_up_to: int = STORED_RANK_MAX,
        within: Within | None = None,
        many: bool = False,
    ) -> tuple[int, list[Entry]]:
        """How many files `base` matches (exactly up to `want`; past it, at least `want + 1`)
        and the best `want` of them, best first. Up to `stored_up_to` matches are scored from
        their stored documents. `at_most`: an upper bound of the matches known beforehand
        (the rarest word's document count); above `FIRST_PASS_MAX`, the groups are read at
        once, without a first pass to count; so are they when `many` (the caller expects
        more than `stored_up_to`). `within`: how `base` reads within a group whose titles have
        some of its words (without it: `base` whole)."""
        # One group (the others cannot have files: no title has their words) is one pass that
        # counts too; so are the groups when the files may be so many that a first pass to
        # count them would cost more than a group.
        many = many or (at_most is not None and at_most > FIRST_PASS_MAX)
        if self._grouped and want > 0 and (many or len(self._groups_made()) == 1):
            return self._by_group(base, want, counted=None, within=within)
        first = self._searcher.search(
            base,
            limit=stored_up_to + 1,
            count=True,
            order_by_field="order",
            order=tantivy.Order.Asc,
        )
        matches = _count_of(first)
        if want <= 0 or matches == 0:
            return matches, []
        if matches <= stored_up_to:
            return matches, self._from_stored(first.hits, want)
        if not self._grouped:
            widest = self._searcher.search(
                base,
                limit=min(matches, SCAN_CAP),
                count=False,
                order_by_field="order",
                order=tantivy.Order.Asc,
            )
            return matches, self._from_stored(widest.hits, want)
        return matches, self._by_group(base, want, counted=matches, within=within)[1]

    # --- few matches: their stored documents ----------------------------------------------

    def _from_stored(self, hits: list[tuple[object, tantivy.DocAddress]], want: int) -> list[Entry]:
        searcher = self._searcher
        entries: list[Entry] = []
        for _order, address in hits:
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

    def _by_group(
        self, base: tantivy.Query, want: int, *, counted: int | None, within: Within | None
    ) -> tuple[int, list[Entry]]:
        """(the matches, the best `want`): groups best first, each counted as it is read
        (unless `counted` already); when the page is full before the last group, the rest
        are not read (then the count is exact only if it is past `want`, else `base` is
        counted on its own)."""
        best: list[Entry] = []
        matches = 0
        for group in self._groups_made():
            group_points = group.points
            if len(best) >= want and -best[want - 1][0] > SCALE * group_points - 1:
                if counted is None and matches <= want:  # files not read may make it more
                    matches = count(self._searcher, base)
                break  # no file of this group (or a later one) can reach the page
            clauses = self._within(base, group, within)
            if clauses is None:
                continue  # no file of this group matches `base`
            found, entries = self._group_best(
                tantivy.Query.boolean_query(clauses), group_points, want
            )
            matches += found
            best.extend(entries)
            best.sort()
            del best[want:]
        return (matches if counted is None else counted), best

    def _group_best(
        self, query: tantivy.Query, group_points: int, want: int
    ) -> tuple[int, list[Entry]]:
        searcher = self._searcher
        result = searcher.search(
            query, limit=want + 1, count=True, order_by_field="order", order=tantivy.Order.Asc
        )
        hits = result.hits
        if len(hits) > want and hits[want][0] == hits[want - 1][0]:
            # Files of equal order at the cut: all of them, their keys decide.
            tied = hits[want - 1][0]
            with_tied = tantivy.Query.boolean_query(
                [(_MUST, query), (_MUST, tantivy.Query.term_query(self._schema, "order", tied))]
            )
            # One query reads them (files stored in the same batch share a millisecond: up to
            # a batch of them); a second only when there are more (each costs a typo query's
            # automaton again).
            everyone = searcher.search(with_tied, limit=TIED_READ, count=True)
            if _count_of(everyone) > len(everyone.hits):
                everyone = searcher.search(with_tied, limit=_count_of(everyone), count=False)
            hits = [h for h in hits if h[0] != tied] + [(tied, a) for _, a in everyone.hits]
        addresses = [address for _order, address in hits]
        keys = searcher.fast_field_values("key", addresses)
        kinds = [
            _KIND_OF.get(int(code or 0)) or self._kind(address)  # no code: its document
            for code, address in zip(
                searcher.fast_field_values("kind_code", addresses), addresses, strict=True
            )
        ]
        # (-score, -at, key, kind), n and at read back from `order` (`scoring.order_value`):
        # inlined, this runs for up to 501 files per group.
        points = SCALE * group_points
        entries: list[Entry] = [
            ((order >> AT_BITS) - points, (order & MAX_AT) - MAX_AT, int(key or 0), kind)
            for (order, _), key, kind in zip(hits, keys, kinds, strict=True)
        ]
        return _count_of(result), entries

    def _within(
        self, base: tantivy.Query, group: _Group, within: Within | None
    ) -> list[Clause] | None:
        """The clauses of `base`'s files in `group` (None: it has none): the group's, and
        `base` as `within` reads it among the group's titles (or whole)."""
        if within is None:
            return [(_MUST, base), *group.clauses]
        selecting = within(group.having, group.starts)
        return None if selecting is None else [*selecting, *group.clauses]

    def _kind(self, address: tantivy.DocAddress) -> str:
        return str(self._searcher.doc(address).to_dict().get("kind", [""])[0])

    def _groups_made(self) -> list[_Group]:
        if self._groups is None:
            self._groups = self._make_groups()
        return self._groups

    def _make_groups(self) -> list[_Group]:
        """The clauses that pick each points value a file can have (added to the query's),
        best first: titles typed whole (one `title_key` term per combination of typed words),
        then the rest by which query words the title has and whether a title word starts
        with the prefix."""
        distinct = tuple(dict.fromkeys(self._words))
        prefix = self._prefix
        schema, searcher = self._schema, self._searcher
        whole: dict[int, list[tuple[tantivy.Query, frozenset[str]]]] = {}  # (term, its words)
        typed = _typed(self._words, prefix)
        for size in range(1, len(typed) + 1):
            for title in combinations(typed, size):
                key = " ".join(sorted(title))
                if not searcher.doc_freq("title_key", key):
                    continue  # no file has exactly this title: a group the query need not ask
                term = tantivy.Query.term_query(schema, "title_key", key)
                whole.setdefault(points(title, self._words, prefix), []).append(
                    (term, frozenset(title))
                )
        not_whole: list[Clause] = []
        if whole:
            not_whole = [(_MUST_NOT, _any([q for titles in whole.values() for q, _ in titles]))]
        times = Counter(self._words)
        titled = {w for w in distinct if searcher.doc_freq("title", w)}  # some title has it
        in_title = {w: tantivy.Query.term_query(schema, "title", w) for w in titled}
        starts = prefix_query(schema, "title", prefix) if prefix is not None else None
        rest: dict[int, list[tuple[list[Clause], frozenset[str], bool]]] = {}
        for size in range(len(titled) + 1):
            for having in combinations(sorted(titled), size):
                clauses = [(_MUST if w in having else _MUST_NOT, q) for w, q in in_title.items()]
                group_points = TITLE_WORD_POINTS * sum(times[w] for w in having)
                for starting in (False, True) if starts is not None else (False,):
                    extra = [(_MUST if starting else _MUST_NOT, starts)] if starts else []
                    rest.setdefault(group_points + PREFIX_POINTS * starting, []).append(
                        (clauses + extra, frozenset(having), starting)
                    )
        groups = [
            _Group(
                p,
                [(_MUST, _any([q for q, _ in titles]))],
                frozenset.intersection(*(words for _, words in titles)),  # a whole title's words
                prefix is not None and all(prefix in words for _, words in titles),
            )
            for p, titles in whole.items()
        ]
        for p, combos in rest.items():
            # What every file of the group has in its title: what each combination has.
            having_all = frozenset.intersection(*(having for _, having, _ in combos))
            starts_all = all(starting for _, _, starting in combos)
            if len(combos) == 1:  # its clauses join the query's (the one without a title word)
                groups.append(_Group(p, combos[0][0] + not_whole, having_all, starts_all))
            else:  # each combination has a title word (or the prefix) that it must have
                either = _any([tantivy.Query.boolean_query(c) for c, _, _ in combos])
                groups.append(_Group(p, [(_MUST, either), *not_whole], having_all, starts_all))
        groups.sort(key=lambda group: -group.points)
        return groups


def _typed(words: Sequence[str], prefix: str | None) -> tuple[str, ...]:
    """The different words typed, and the prefix (what a whole title is made of)."""
    return tuple(dict.fromkeys((*words, *((prefix,) if prefix else ()))))


def _any(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(_SHOULD, q) for q in queries])

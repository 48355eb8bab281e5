"""The full-text index: a derived, rebuildable projection of the `files` collection on local
disk (issue #12). MongoDB stays the source of truth; this index only answers "which file ids
match these words", exactly or within a small edit distance.

`FullTextIndex` is the interface the search service will use, so another engine can replace
tantivy; `TantivyIndex` implements it. Every method that touches the index files runs in a
worker thread (`asyncio.to_thread`): tantivy's writes, commits and searches never block the
event loop.

The index knows how far it has caught up with MongoDB (`watermark`, the change sequence of the
last change applied). It is written to `state.json` only after tantivy has committed, so a crash
in between leaves an older watermark: the changes after it are applied again, which is harmless
because every change is keyed by file id (an upsert replaces, a delete deletes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

import tantivy
from rapidfuzz.distance import OSA

from core.search.normalize import fuzzy_distance
from core.search.ranker import (
    KIND_CODES,
    STORED_TYPO_MAX,
    Clause,
    Entry,
    Ranker,
    Within,
    prefix_query,
)
from core.search.scoring import MAX_AT, MAX_N, file_key, order_value

P = ParamSpec("P")
T = TypeVar("T")

__all__ = [
    "NO_FILTERS",
    "SCHEMA_VERSION",
    "Census",
    "Filters",
    "FullTextIndex",
    "Hit",
    "IndexUnusableError",
    "IndexedFile",
    "Ranking",
    "TantivyIndex",
    "fuzzy_distance",
    "title_words",
]

# v4: `key`, `order`, `kind_code`, `title_key`: ranking from fast fields; v5: a title holds only
# words of the name's terms (`title_words`: the ranker reads a group by its title words alone);
# v6: the forms index beside it (`forms/`, a document per name term: a typo's forms found
# without decoding their postings).
SCHEMA_VERSION = 6
_STATE = "state.json"
_WRITER_HEAP = 15_000_000  # bytes; tantivy needs at least 3 MB per writer thread
# A rebuild writes with a larger heap: fewer, larger segments (3 instead of 10 at a million
# files), and a typo query, which reads every segment's term dictionary, costs half as much
# (1.07 → 0.58 ms p50 at a million). Peak RSS of `bot.py reindex` at a million: 219 → 294 MB.
REBUILD_HEAP = 120_000_000
_MAX_HITS = 1_000
_FORMS = "forms"  # the forms index: a directory inside the index's
_FILTER_FIELDS = ("kind", "year", "season", "episode", "resolution")  # `Filters`' fields
# A typo query whose matches are estimated above this (`_typo_estimate`) goes to the groups at
# once: a first pass that counts them would intersect the same postings (3-4 ms for two
# common words at a million files) only to find more than `STORED_TYPO_MAX`. An estimate, not a
# bound: a wrong guess costs time, never a result.
TYPO_MANY = 2_000
# A typo word with more forms in the index than this is matched by tantivy's fuzzy query on the
# name's terms (which decodes every posting of every form) rather than by its forms' postings.
MAX_FORMS = 64


class IndexUnusableError(Exception):
    """The index on disk cannot be used (missing parts, corrupt, written by another schema):
    the caller rebuilds it from MongoDB. `reason` says why, for the operator's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """What the index holds of a file: its id, the terms it is found by, its kind, and what
    filters and ranking read (title words, year, season, episode, resolution, when indexed)."""

    id: str
    terms: tuple[str, ...]
    kind: str
    title: tuple[str, ...] = ()
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    resolution: str | None = None
    at: int = 0  # when the file was indexed, in milliseconds since the epoch
    name: str = ""  # the file name and size, what a results page lists
    size: int = 0


def title_words(file: IndexedFile) -> tuple[str, ...]:
    """The title's words the index holds: each once, and only the name's terms (a title that
    a parser took from elsewhere adds no word the name lacks), so a file whose title has a
    query's words matches that query (`core/search/ranker.py` relies on it)."""
    terms = set(file.terms)
    return tuple(word for word in dict.fromkeys(file.title) if word in terms)


@dataclass(frozen=True, slots=True)
class Filters:
    """Equality filters of a query; None matches anything."""

    kind: str | None = None
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    resolution: str | None = None


NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class Hit:
    """A matching file with what ranking needs, read from the index (no database round trip)."""

    id: str
    exact: bool  # every query word matched as written (else within the edit distance)
    kind: str = ""
    title: tuple[str, ...] = ()
    n: int = 0  # how many terms the name has
    at: int = 0  # when it was indexed (milliseconds since the epoch)
    name: str = ""
    size: int = 0

    @property
    def key(self) -> int:
        return file_key(self.id)


@dataclass(frozen=True, slots=True)
class Ranking:
    """The best matches of a query, best first (`TantivyIndex.rank`): each file's key and
    kind, at most the limit asked; `total` counts the matches (typo matches included when
    asked): exactly up to the limit, and past it some number above it (all a results page
    says then is "500+")."""

    keys: tuple[int, ...]
    kinds: tuple[str, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Census:
    """What `/stats` shows of the index: files by kind and bytes on disk."""

    kinds: dict[str, int]
    disk_bytes: int


class FullTextIndex(Protocol):
    @property
    def watermark(self) -> int: ...

    async def documents(self) -> int: ...

    async def apply(
        self,
        upserts: Sequence[IndexedFile],
        deletes: Sequence[str],
        *,
        watermark: int,
        commit: bool = True,
        fresh: bool = False,
    ) -> None: ...

    async def search(
        self,
        terms: Sequence[str],
        *,
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int = _MAX_HITS,
        fuzzy_limit: int | None = None,
    ) -> list[Hit]: ...

    async def rank(
        self,
        variants: Sequence[Sequence[str]],
        *,
        words: Sequence[str],
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int,
        typos: bool = True,
        typos_while_below: int = 0,
    ) -> Ranking: ...

    async def similar_words(self, word: str, limit: int = 5) -> list[str]: ...

    async def listings(self, keys: Sequence[int]) -> list[Hit]: ...

    async def census(self) -> Census: ...

    async def close(self) -> None: ...


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("terms", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw", index_option="basic")
    # Title words: stored for ranking, indexed for "did you mean" (real title words only).
    builder.add_text_field("title", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("year", indexed=True)
    builder.add_unsigned_field("season", indexed=True)
    builder.add_unsigned_field("episode", indexed=True)
    builder.add_text_field("resolution", tokenizer_name="raw", index_option="basic")
    # How many terms the name has: among files that match, the shortest names are the closest
    # (searching "dark city", "Dark City" beats "Dark City Lights Tower").
    builder.add_unsigned_field("n", stored=True, fast=True)
    builder.add_unsigned_field("at", stored=True)
    # Ranking without reading documents (core/search/ranker.py): the title's words as one term,
    # (terms, newest) as one sortable number, the id's 64-bit key, the kind as a number.
    builder.add_text_field("title_key", tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("order", indexed=True, fast=True)
    builder.add_unsigned_field("key", indexed=True, fast=True)
    builder.add_unsigned_field("kind_code", fast=True)
    # What a results page lists, stored only (bytes: no terms indexed for it).
    builder.add_bytes_field("name", stored=True)
    builder.add_unsigned_field("size", stored=True)
    return builder.build()


def _forms_schema() -> tantivy.Schema:
    """The forms index (`_TypoForms`): a document per name term the index has held. Apart from
    the files: documents of another shape among theirs slow every read of a fast field (ranking
    one common word at a million files: 2.4 → 3.8 ms)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("form", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


class TantivyIndex:
    """A tantivy index in one directory (`DATA_DIR/search` in the app)."""

    def __init__(
        self, directory: Path, index: tantivy.Index, forms: tantivy.Index, watermark: int
    ) -> None:
        self.directory = directory
        self._index = index
        self._schema = index.schema
        self._forms = forms
        self._watermark = watermark
        self._writer: tantivy.IndexWriter | None = None
        self._forms_writer: tantivy.IndexWriter | None = None
        self._unseen_forms: set[str] = set()  # forms added since the forms' last commit
        self._heap = _WRITER_HEAP
        self._lock = threading.Lock()  # one writer; searches may run beside it

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    async def open(cls, directory: Path) -> TantivyIndex:
        """The index in `directory`, created empty if there is none. Raises
        `IndexUnusableError` when what is there cannot be used."""
        return await _in_thread(cls._open, directory)

    @classmethod
    async def create(cls, directory: Path, *, bulk: bool = False) -> TantivyIndex:
        """A new, empty index in `directory`, replacing whatever was there (a rebuild).
        `bulk`: written with the rebuild's larger heap until `end_bulk`."""
        created = await _in_thread(cls._create, directory)
        if bulk:
            created._heap = REBUILD_HEAP
        return created

    async def end_bulk(self) -> None:
        """After a rebuild's last commit: let its merges finish and give the large writer's
        memory back (later changes are written with the small one)."""
        await self.close()
        self._heap = _WRITER_HEAP
        await _in_thread(self._index.reload)  # searches see the merged segments

    @classmethod
    def _open(cls, directory: Path) -> TantivyIndex:
        state_path = directory / _STATE
        if not state_path.exists():
            if directory.exists() and any(directory.iterdir()):
                raise IndexUnusableError(f"{directory} holds files but no {_STATE}")
            return cls._create(directory)
        try:
            state = json.loads(state_path.read_text("utf-8"))
            schema = int(state["schema"])
            watermark = int(state["watermark"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexUnusableError(f"unreadable {_STATE}: {exc}") from exc
        if schema != SCHEMA_VERSION:
            raise IndexUnusableError(f"index schema v{schema}, this bot uses v{SCHEMA_VERSION}")
        if not (directory / _FORMS).is_dir():
            raise IndexUnusableError(f"no {_FORMS} index in {directory}")
        try:
            index = tantivy.Index(_schema(), path=str(directory), reuse=True)
            forms = tantivy.Index(_forms_schema(), path=str(directory / _FORMS), reuse=True)
            for opened in (index, forms):
                opened.reload()
                # touches every segment's meta
                opened.searcher().search(tantivy.Query.all_query(), limit=1)
        except (ValueError, OSError) as exc:
            raise IndexUnusableError(f"corrupt index: {exc}") from exc
        return cls(directory, index, forms, watermark)

    @classmethod
    def _create(cls, directory: Path) -> TantivyIndex:
        if directory.exists():
            shutil.rmtree(directory)
        (directory / _FORMS).mkdir(parents=True)
        index = tantivy.Index(_schema(), path=str(directory), reuse=False)
        forms = tantivy.Index(_forms_schema(), path=str(directory / _FORMS), reuse=False)
        created = cls(directory, index, forms, 0)
        created._write_state()
        return created

    # --- reading -----------------------------------------------------------------------------

    @property
    def watermark(self) -> int:
        """The change sequence of the last change applied and committed."""
        return self._watermark

    async def documents(self) -> int:
        return await _in_thread(self._documents)

    def _documents(self) -> int:
        return int(self._index.searcher().num_docs)

    async def census(self) -> Census:
        return await _in_thread(self._census)

    def _census(self) -> Census:
        searcher = self._index.searcher()
        kinds = {}
        for kind in ("video", "audio", "document"):
            query = tantivy.Query.term_query(self._schema, "kind", kind)
            result = searcher.search(query, limit=1, count=True)
            # `count` (live documents matched) is missing from the package's type stubs.
            kinds[kind] = int(getattr(result, "count", 0) or 0)
        size = sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())
        return Census(kinds, size)

    async def search(
        self,
        terms: Sequence[str],
        *,
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int = _MAX_HITS,
        fuzzy_limit: int | None = None,
    ) -> list[Hit]:
        """The files that have every term (and a term starting with `prefix`) and pass the
        filters: exact matches first, then those within each word's edit distance, each group
        shortest name first; at most `limit`, of which at most `fuzzy_limit` typo matches
        (a caller that shows only so many results needs no more)."""
        return await _in_thread(self._search, tuple(terms), prefix, filters, limit, fuzzy_limit)

    async def rank(
        self,
        variants: Sequence[Sequence[str]],
        *,
        words: Sequence[str],
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int,
        typos: bool = True,
        typos_while_below: int = 0,
    ) -> Ranking:
        """The best `limit` files for a query written in one or more ways (`variants`: the
        words, and adjacent words joined), scored by `words` and `prefix`
        (`core/search/scoring.py`), in one trip to a worker thread: every exact match (of any
        variant) first, then, with `typos`, the files within each word's edit distance of the
        first variant, and of each later one while fewer than `typos_while_below` files were
        found (exact matches of any variant, and typo matches so far). Read from fast fields
        (`core/search/ranker.py`): no stored document is read to rank or count, only a
        results page's (`listings`)."""
        return await _in_thread(
            self._rank,
            tuple(tuple(v) for v in variants),
            tuple(words),
            prefix=prefix,
            filters=filters,
            limit=limit,
            typos=typos,
            typos_while_below=typos_while_below,
        )

    def _rank(
        self,
        variants: tuple[tuple[str, ...], ...],
        words: tuple[str, ...],
        *,
        prefix: str | None,
        filters: Filters,
        limit: int,
        typos: bool,
        typos_while_below: int,
    ) -> Ranking:
        variants = tuple(v for v in variants if v or prefix is not None)
        if not variants:
            return Ranking((), (), 0)
        try:
            searcher = self._index.searcher()
            ranker = Ranker(searcher, self._schema, words, prefix)
            exact_parts = [self._query(v, prefix, filters, fuzzy=None) for v in variants]
            at_most = self._at_most(searcher, variants)
            total, best = ranker.top(
                _either(exact_parts),
                limit,
                at_most=at_most,
                within=self._exact_within(variants, prefix, filters),
            )
            if typos and total <= limit:  # beyond: typo matches would rank below the page
                near_total, near_best = self._typo_ranking(
                    _TypoForms(searcher, self._schema, self._forms),
                    ranker,
                    variants,
                    exact_parts,
                    found=total,
                    prefix=prefix,
                    filters=filters,
                    want=limit - len(best),
                    below=typos_while_below,
                )
                total += near_total
                best += near_best
        except ValueError as exc:
            raise IndexUnusableError(f"search failed: {exc}") from exc
        return Ranking(tuple(e[2] for e in best), tuple(e[3] for e in best), total)

    @staticmethod
    def _at_most(searcher: tantivy.Searcher, variants: tuple[tuple[str, ...], ...]) -> int | None:
        """An upper bound of the files the variants match exactly: each one's rarest word's
        document count (None with a variant of no word: a prefix alone)."""
        bound = 0
        for terms in variants:
            if not terms:
                return None
            bound += min(searcher.doc_freq("terms", t) for t in terms)
        return bound

    def _typo_ranking(
        self,
        forms: _TypoForms,
        ranker: Ranker,
        variants: tuple[tuple[str, ...], ...],
        exact_parts: list[tantivy.Query],
        *,
        found: int,
        prefix: str | None,
        filters: Filters,
        want: int,
        below: int,
    ) -> tuple[int, list[Entry]]:
        """The typo matches (files within each word's edit distance that no variant matches
        exactly) of the first variant, and of each later one while fewer than `below` files
        were found (the `found` exact matches and the typo matches so far): how many (exactly
        up to `want`) and the best `want`. Each typo query runs once; a file two variants
        find is one."""
        exact = _either(exact_parts)
        best: dict[int, Entry] = {}
        most, complete = 0, True
        for n, terms in enumerate(variants):
            counted = len(best) if complete else max(most, len(best))
            if n > 0 and found + counted >= below:
                break
            if not any(fuzzy_distance(t) for t in terms):
                continue  # its typo matches are its exact matches
            typo = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, self._query(terms, prefix, filters, fuzzy=forms)),
                    (tantivy.Occur.MustNot, exact),
                ]
            )
            matches, entries = ranker.top(
                typo,
                want,
                stored_up_to=STORED_TYPO_MAX,
                within=self._typo_within(forms, terms, prefix, filters, exact),
                many=prefix is None and _typo_estimate(forms, terms, filters) > TYPO_MANY,
            )
            for entry in entries:
                best.setdefault(entry[2], entry)
            most, complete = max(most, matches), complete and matches == len(entries)
        counted = len(best) if complete else max(most, len(best))
        return counted, sorted(best.values())[:want]

    # A title's words are its name's (`title_words`): within a group of files whose titles have
    # some query words, the name's postings of those words need not be read again.

    def _exact_within(
        self, variants: tuple[tuple[str, ...], ...], prefix: str | None, filters: Filters
    ) -> Within:
        """The exact query (`variants`, `prefix`, `filters`) among files whose titles have
        `having` (and a word starting with the prefix when `starts`): each variant without
        those words; only the filters once a variant has none left."""

        def within(having: frozenset[str], starts: bool) -> list[Clause] | None:
            rest = None if starts else prefix
            lacking = tuple(dict.fromkeys(tuple(t for t in v if t not in having) for v in variants))
            if rest is None and not all(lacking):  # the titles imply a variant
                return self._filter_clauses(filters)
            parts = [self._query(terms, rest, filters, fuzzy=None) for terms in lacking]
            return [(tantivy.Occur.Must, _either(parts))]

        return within

    def _typo_within(
        self,
        forms: _TypoForms,
        terms: tuple[str, ...],
        prefix: str | None,
        filters: Filters,
        exact: tantivy.Query,
    ) -> Within:
        """The typo query of `terms` among files whose titles have `having`: those words are
        within their edit distance already, so only the others are matched by distance; none
        when no word is left (such a file matches `terms` exactly, or misses the prefix or a
        filter that the typo query needs too)."""

        def within(having: frozenset[str], starts: bool) -> list[Clause] | None:
            lacking = tuple(t for t in terms if t not in having)
            if not lacking:
                return None
            fuzzy = self._query(lacking, None if starts else prefix, filters, fuzzy=forms)
            return [(tantivy.Occur.Must, fuzzy), (tantivy.Occur.MustNot, exact)]

        return within

    def _search(
        self,
        terms: tuple[str, ...],
        prefix: str | None,
        filters: Filters,
        limit: int,
        fuzzy_limit: int | None,
    ) -> list[Hit]:
        if not terms and prefix is None:
            return []
        try:
            searcher = self._index.searcher()
            seen: set[tuple[int, int]] = set()
            query = self._query(terms, prefix, filters, fuzzy=None)
            hits = self._hits(searcher, query, limit, exact=True, seen=seen)
            room = limit - len(hits)
            if fuzzy_limit is not None:
                room = min(room, fuzzy_limit)
            if room > 0 and any(fuzzy_distance(t) for t in terms):
                # The typo query matches the exact files too: they are skipped by address,
                # without reading them again.
                forms = _TypoForms(searcher, self._schema, self._forms)
                query = self._query(terms, prefix, filters, fuzzy=forms)
                hits += self._hits(searcher, query, len(seen) + room, exact=False, seen=seen)[:room]
        except ValueError as exc:
            raise IndexUnusableError(f"search failed: {exc}") from exc
        return hits

    async def listings(self, keys: Sequence[int]) -> list[Hit]:
        """The files with these keys (`Hit.key`, `Ranking.keys`) as the index holds them (name,
        size, kind: what a results page lists), in the order given; keys the index does not
        have are left out."""
        return await _in_thread(self._listings, tuple(keys))

    def _listings(self, keys: tuple[int, ...]) -> list[Hit]:
        if not keys:
            return []
        try:
            searcher = self._index.searcher()
            should = tantivy.Occur.Should
            query = tantivy.Query.boolean_query(
                [(should, tantivy.Query.term_query(self._schema, "key", k)) for k in keys]
            )
            hits = self._hits(searcher, query, len(keys), exact=True, seen=set())
        except ValueError as exc:
            raise IndexUnusableError(f"search failed: {exc}") from exc
        by_key = {h.key: h for h in hits}
        return [by_key[k] for k in keys if k in by_key]

    async def similar_words(self, word: str, limit: int = 5) -> list[str]:
        """Title words of indexed files within two edits of `word`, most frequent first (what
        "did you mean" offers: words that files really have, never a joined fragment)."""
        return await _in_thread(self._similar_words, word, limit)

    def _similar_words(self, word: str, limit: int) -> list[str]:
        if len(word) < 3:  # noqa: PLR2004 - too short to guess what was meant
            return []
        try:
            searcher = self._index.searcher()
            query = tantivy.Query.fuzzy_term_query(
                self._schema, "title", word, distance=2, transposition_cost_one=True
            )
            result = searcher.search(query, limit=200, count=False)
            counts: dict[str, int] = {}
            for _score, address in result.hits:
                for title_word in dict.fromkeys(searcher.doc(address).get_all("title")):
                    text = str(title_word)
                    if text != word and OSA.distance(word, text, score_cutoff=2) <= 2:  # noqa: PLR2004
                        counts[text] = counts.get(text, 0) + 1
        except ValueError as exc:
            raise IndexUnusableError(f"search failed: {exc}") from exc
        ranked = sorted(counts, key=lambda w: (OSA.distance(word, w), -counts[w], w))
        return ranked[:limit]

    def _query(
        self,
        terms: tuple[str, ...],
        prefix: str | None,
        filters: Filters,
        *,
        fuzzy: _TypoForms | None,
    ) -> tantivy.Query:
        """Files with every word of `terms` (with `fuzzy`, or one of its forms within its
        edit distance), a term starting with `prefix`, and passing `filters`."""
        must = tantivy.Occur.Must
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for term in dict.fromkeys(terms):
            if fuzzy is not None and fuzzy_distance(term):
                query = fuzzy.query(term)
            else:
                query = tantivy.Query.term_query(self._schema, "terms", term)
            clauses.append((must, query))
        if prefix is not None:
            clauses.append((must, prefix_query(self._schema, "terms", prefix)))
        return tantivy.Query.boolean_query(clauses + self._filter_clauses(filters))

    def _filter_clauses(self, filters: Filters) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        return [
            (tantivy.Occur.Must, tantivy.Query.term_query(self._schema, name, value))
            for name in _FILTER_FIELDS
            if (value := getattr(filters, name)) is not None
        ]

    def _hits(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        limit: int,
        *,
        exact: bool,
        seen: set[tuple[int, int]],
    ) -> list[Hit]:
        """The matching files, shortest name first, skipping the documents in `seen` (their
        addresses), which is updated."""
        result = searcher.search(
            query, limit=limit, count=False, order_by_field="n", order=tantivy.Order.Asc
        )
        hits: list[Hit] = []
        for _score, address in result.hits:
            key = (address.segment_ord, address.doc)
            if key in seen:
                continue
            seen.add(key)
            stored = searcher.doc(address).to_dict()
            ids = stored.get("id")
            if not ids:
                continue
            hits.append(
                Hit(
                    str(ids[0]),
                    exact=exact,
                    kind=str(stored.get("kind", [""])[0]),
                    title=tuple(str(t) for t in stored.get("title", ())),
                    n=int(stored.get("n", [0])[0]),
                    at=int(stored.get("at", [0])[0]),
                    name=bytes(stored.get("name", [b""])[0]).decode("utf-8", "replace"),
                    size=int(stored.get("size", [0])[0]),
                )
            )
        return hits

    # --- writing -----------------------------------------------------------------------------

    async def apply(
        self,
        upserts: Sequence[IndexedFile],
        deletes: Sequence[str],
        *,
        watermark: int,
        commit: bool = True,
        fresh: bool = False,
    ) -> None:
        """Apply changes and commit; then record `watermark`. Idempotent per file id.
        `commit=False` (a rebuild's pages) leaves them for the next commit; `fresh` (a
        rebuild): the files are not in the index yet, nothing to replace."""
        await _in_thread(self._apply, tuple(upserts), tuple(deletes), watermark, commit, fresh)

    def _apply(
        self,
        upserts: tuple[IndexedFile, ...],
        deletes: tuple[str, ...],
        watermark: int,
        commit: bool,
        fresh: bool,
    ) -> None:
        with self._lock:
            writer = self._writer_()
            replaced = () if fresh else tuple(f.id for f in upserts)
            for file_id in (*deletes, *replaced):
                writer.delete_documents_by_term("id", file_id)
            for file in upserts:
                document = tantivy.Document()
                document.add_text("id", file.id)
                for term in dict.fromkeys(file.terms):
                    document.add_text("terms", term)
                document.add_text("kind", file.kind)
                kind_code = KIND_CODES.index(file.kind) if file.kind in KIND_CODES else 0
                document.add_unsigned("kind_code", kind_code)
                title = title_words(file)
                for word in title:
                    document.add_text("title", word)
                if title:
                    document.add_text("title_key", " ".join(sorted(title)))
                for name in ("year", "season", "episode"):
                    value = getattr(file, name)
                    if value is not None and value >= 0:
                        document.add_unsigned(name, value)
                if file.resolution is not None:
                    document.add_text("resolution", file.resolution)
                n, at = min(len(file.terms), MAX_N), min(max(0, file.at), MAX_AT)
                document.add_unsigned("n", n)
                document.add_unsigned("at", at)
                document.add_unsigned("order", order_value(n, at))
                document.add_unsigned("key", file_key(file.id))
                document.add_bytes("name", file.name.encode())
                document.add_unsigned("size", max(0, file.size))
                writer.add_document(document)
            self._add_forms(upserts)
            if not commit:
                return
            if self._unseen_forms:  # first: a file committed has its terms' forms
                self._forms_writer_().commit()
                self._unseen_forms.clear()
                self._forms.reload()
            writer.commit()
            self._index.reload()
            self._watermark = max(self._watermark, watermark)
            self._write_state()

    def _add_forms(self, files: tuple[IndexedFile, ...]) -> None:
        """A form for each term of `files` that the forms index has none for yet, committed
        before the files (`_apply`): whatever stops the process between two commits, every
        term of a committed file has its form."""
        searcher = self._forms.searcher()
        for term in dict.fromkeys(t for f in files for t in f.terms):
            if term in self._unseen_forms or searcher.doc_freq("form", term):
                continue
            document = tantivy.Document()
            document.add_text("form", term)
            self._forms_writer_().add_document(document)
            self._unseen_forms.add(term)

    def _forms_writer_(self) -> tantivy.IndexWriter:
        if self._forms_writer is None:
            self._forms_writer = self._forms.writer(heap_size=_WRITER_HEAP, num_threads=1)
        return self._forms_writer

    def _writer_(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=self._heap, num_threads=1)
        return self._writer

    def _write_state(self) -> None:
        state = {"schema": SCHEMA_VERSION, "watermark": self._watermark}
        temporary = self.directory / f"{_STATE}.tmp"
        temporary.write_text(json.dumps(state), "utf-8")
        temporary.replace(self.directory / _STATE)  # atomic: never half a file

    async def close(self) -> None:
        """Let merges finish and release the writer's lock on the directory."""
        await _in_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            writers = (self._writer, self._forms_writer)
            self._writer = self._forms_writer = None
            self._unseen_forms.clear()  # what was not committed is gone with the writers
            for writer in writers:
                if writer is not None:
                    with contextlib.suppress(ValueError):
                        writer.wait_merging_threads()


async def _in_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a tantivy call in a worker thread; whatever it raises becomes `IndexUnusableError`.

    The one place the index's failures are caught: a vanished directory (`OSError`), a damaged
    segment (`ValueError`), and a Rust panic on bytes changed under tantivy's memory map —
    pyo3's `PanicException`, a `BaseException` that would pass every `except Exception` and
    kill the update's worker. The caller then treats the index as unusable and rebuilds it.
    Cancellation and interpreter exits pass through.
    """
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except IndexUnusableError:
        raise
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise IndexUnusableError(f"{type(exc).__name__}: {detail}"[:300]) from exc


def _within_distance(schema: tantivy.Schema, field: str, word: str) -> tantivy.Query:
    """Terms of `field` within `word`'s edit distance (a swap of two letters is one edit)."""
    return tantivy.Query.fuzzy_term_query(
        schema, field, word, distance=fuzzy_distance(word), transposition_cost_one=True
    )


def _typo_estimate(forms: _TypoForms, terms: Sequence[str], filters: Filters) -> float:
    """About how many files a typo query of these words matches, as if they occurred apart: each
    word's share of the files (a typo word's: its forms'), times each filter's share."""
    searcher = forms.searcher
    files = searcher.num_docs or 1
    share = 1.0
    for term in dict.fromkeys(terms):
        found = forms.files(term) if fuzzy_distance(term) else searcher.doc_freq("terms", term)
        share *= min(found, files) / files
    for name in _FILTER_FIELDS:
        if (value := getattr(filters, name)) is not None:
            share *= searcher.doc_freq(name, value) / files
    return share * files


class _TypoForms:
    """The terms of the index within each typo word's edit distance (its forms), looked up once
    per search in the forms index. A typo query reads their postings as it reads an exact
    word's (tantivy's fuzzy query decodes every posting of every form into a bit set, for each
    query that names it: 1-2 ms for a common word at a million files, again for each group)."""

    def __init__(
        self, searcher: tantivy.Searcher, schema: tantivy.Schema, forms: tantivy.Index
    ) -> None:
        self.searcher = searcher  # the files'
        self._schema = schema
        self._in = forms.searcher()
        self._forms_schema = forms.schema
        self._forms: dict[str, tuple[str, ...] | None] = {}

    def of(self, word: str) -> tuple[str, ...] | None:
        """`word`'s forms (itself among them when the index has it); None past `MAX_FORMS`."""
        if word not in self._forms:
            query = _within_distance(self._forms_schema, "form", word)
            hits = self._in.search(query, limit=MAX_FORMS + 1, count=False).hits
            found: tuple[str, ...] | None = None
            if len(hits) <= MAX_FORMS:
                found = tuple(
                    dict.fromkeys(str(self._in.doc(a).get_first("form")) for _, a in hits)
                )
            self._forms[word] = found
        return self._forms[word]

    def query(self, word: str) -> tantivy.Query:
        """Files with a form of `word`."""
        forms = self.of(word)
        if forms is None:
            return _within_distance(self._schema, "terms", word)
        terms = [tantivy.Query.term_query(self._schema, "terms", form) for form in forms]
        if not terms:
            return tantivy.Query.empty_query()
        if len(terms) == 1:
            return terms[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in terms])

    def files(self, word: str) -> int:
        """At most how many files have a form of `word` (all of them past `MAX_FORMS`)."""
        forms = self.of(word)
        if forms is None:
            return int(self.searcher.num_docs)
        return sum(self.searcher.doc_freq("terms", form) for form in forms)


def _either(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    """The files any of `queries` matches."""
    if len(queries) == 1:
        return queries[0]
    should = tantivy.Occur.Should
    return tantivy.Query.boolean_query([(should, q) for q in queries])

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
    "TantivyIndex",
    "fuzzy_distance",
]

SCHEMA_VERSION = 3  # v3: the name and size stored, so a page is listed without MongoDB
_STATE = "state.json"
_WRITER_HEAP = 15_000_000  # bytes; tantivy needs at least 3 MB per writer thread
# A rebuild writes with a larger heap: fewer, larger segments (3 instead of 10 at a million
# files), and a typo query, which reads every segment's term dictionary, costs half as much
# (1.07 → 0.58 ms p50 at a million). Peak RSS of `bot.py reindex` at a million: 219 → 294 MB.
REBUILD_HEAP = 120_000_000
_MAX_HITS = 1_000


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
    at: int = 0  # when the file was indexed, in microseconds since the epoch
    name: str = ""  # the file name and size, what a results page lists
    size: int = 0


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
    at: int = 0
    name: str = ""
    size: int = 0


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

    async def search_variants(
        self,
        variants: Sequence[Sequence[str]],
        *,
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int = _MAX_HITS,
        fuzzy_limit: int = 0,
        typos_while_below: int = 0,
    ) -> list[list[Hit]]: ...

    async def similar_words(self, word: str, limit: int = 5) -> list[str]: ...

    async def listings(self, ids: Sequence[str]) -> list[Hit]: ...

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
    # What a results page lists, stored only (bytes: no terms indexed for it).
    builder.add_bytes_field("name", stored=True)
    builder.add_unsigned_field("size", stored=True)
    return builder.build()


class TantivyIndex:
    """A tantivy index in one directory (`DATA_DIR/search` in the app)."""

    def __init__(self, directory: Path, index: tantivy.Index, watermark: int) -> None:
        self.directory = directory
        self._index = index
        self._schema = index.schema
        self._watermark = watermark
        self._writer: tantivy.IndexWriter | None = None
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
        try:
            index = tantivy.Index(_schema(), path=str(directory), reuse=True)
            index.reload()
            searcher = index.searcher()
            searcher.search(tantivy.Query.all_query(), limit=1)  # touches every segment's meta
        except (ValueError, OSError) as exc:
            raise IndexUnusableError(f"corrupt index: {exc}") from exc
        return cls(directory, index, watermark)

    @classmethod
    def _create(cls, directory: Path) -> TantivyIndex:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        index = tantivy.Index(_schema(), path=str(directory), reuse=False)
        created = cls(directory, index, 0)
        created._write_state()
        return created

    # --- reading -----------------------------------------------------------------------------

    @property
    def watermark(self) -> int:
        """The change sequence of the last change applied and committed."""
        return self._watermark

    async def documents(self) -> int:
        return await _in_thread(lambda: int(self._index.searcher().num_docs))

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

    async def search_variants(
        self,
        variants: Sequence[Sequence[str]],
        *,
        prefix: str | None = None,
        filters: Filters = NO_FILTERS,
        limit: int = _MAX_HITS,
        fuzzy_limit: int = 0,
        typos_while_below: int = 0,
    ) -> list[list[Hit]]:
        """`search` for each way of writing a query, in one trip to a worker thread: the first
        with up to `fuzzy_limit` typo matches, each later one only while fewer than
        `typos_while_below` files were found (typo passes are what costs: ~1 ms each at a
        million files, the exact ones a tenth of that)."""
        return await _in_thread(
            self._search_variants,
            tuple(tuple(v) for v in variants),
            prefix=prefix,
            filters=filters,
            limit=limit,
            fuzzy_limit=fuzzy_limit,
            typos_while_below=typos_while_below,
        )

    def _search_variants(
        self,
        variants: tuple[tuple[str, ...], ...],
        *,
        prefix: str | None,
        filters: Filters,
        limit: int,
        fuzzy_limit: int,
        typos_while_below: int,
    ) -> list[list[Hit]]:
        found: set[str] = set()
        results: list[list[Hit]] = []
        for n, terms in enumerate(variants):
            room = fuzzy_limit if n == 0 or len(found) < typos_while_below else 0
            hits = self._search(terms, prefix, filters, limit, room)
            found.update(h.id for h in hits)
            results.append(hits)
        return results

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
            query = self._query(terms, prefix, filters, fuzzy=False)
            hits = self._hits(searcher, query, limit, exact=True, seen=seen)
            room = limit - len(hits)
            if fuzzy_limit is not None:
                room = min(room, fuzzy_limit)
            if room > 0 and any(fuzzy_distance(t) for t in terms):
                # The typo query matches the exact files too: they are skipped by address,
                # without reading them again.
                query = self._query(terms, prefix, filters, fuzzy=True)
                hits += self._hits(searcher, query, len(seen) + room, exact=False, seen=seen)[:room]
        except ValueError as exc:
            raise IndexUnusableError(f"search failed: {exc}") from exc
        return hits

    async def listings(self, ids: Sequence[str]) -> list[Hit]:
        """The files with these ids as the index holds them (name, size, kind: what a results
        page lists), in the order given; ids the index does not have are left out."""
        return await _in_thread(self._listings, tuple(ids))

    def _listings(self, ids: tuple[str, ...]) -> list[Hit]:
        if not ids:
            return []
        try:
            searcher = self._index.searcher()
            should = tantivy.Occur.Should
            query = tantivy.Query.boolean_query(
                [(should, tantivy.Query.term_query(self._schema, "id", i)) for i in ids]
            )
            hits = self._hits(searcher, query, len(ids), exact=True, seen=set())
        except ValueError as exc:
            raise IndexUnusableError(f"search failed: {exc}") from exc
        by_id = {h.id: h for h in hits}
        return [by_id[i] for i in ids if i in by_id]

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
        self, terms: tuple[str, ...], prefix: str | None, filters: Filters, *, fuzzy: bool
    ) -> tantivy.Query:
        must = tantivy.Occur.Must
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for term in dict.fromkeys(terms):
            distance = fuzzy_distance(term) if fuzzy else 0
            if distance:
                query = tantivy.Query.fuzzy_term_query(
                    self._schema, "terms", term, distance=distance, transposition_cost_one=True
                )
            else:
                query = tantivy.Query.term_query(self._schema, "terms", term)
            clauses.append((must, query))
        if prefix is not None:
            pattern = _regex_literal(prefix) + ".*"
            clauses.append((must, tantivy.Query.regex_query(self._schema, "terms", pattern)))
        for name in ("kind", "year", "season", "episode", "resolution"):
            value = getattr(filters, name)
            if value is not None:
                clauses.append((must, tantivy.Query.term_query(self._schema, name, value)))
        return tantivy.Query.boolean_query(clauses)

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
                for word in dict.fromkeys(file.title):
                    document.add_text("title", word)
                for name in ("year", "season", "episode"):
                    value = getattr(file, name)
                    if value is not None and value >= 0:
                        document.add_unsigned(name, value)
                if file.resolution is not None:
                    document.add_text("resolution", file.resolution)
                document.add_unsigned("n", len(file.terms))
                document.add_unsigned("at", max(0, file.at))
                document.add_bytes("name", file.name.encode())
                document.add_unsigned("size", max(0, file.size))
                writer.add_document(document)
            if not commit:
                return
            writer.commit()
            self._index.reload()
            self._watermark = max(self._watermark, watermark)
            self._write_state()

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
            writer, self._writer = self._writer, None
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


_REGEX_SPECIAL = frozenset('.^$*+?()[]{}|\\#&~<>"@')


def _regex_literal(text: str) -> str:
    """`text` as a literal inside tantivy's regex syntax (terms are folded words, but a
    prefix comes from what a user typed)."""
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in text)

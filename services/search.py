"""Search: the full-text index finds and ranks, MongoDB supplies the page shown, cached pages,
suggestions from real title words."""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from math import ceil
from pathlib import Path
from typing import Literal, overload

from core.cache.enhanced_cache import CacheStats, EnhancedCache
from core.clock import Clock
from core.logging import get_logger
from core.models import FileListing, FileRecord
from core.search.fulltext import Filters
from core.search.query import ParsedQuery, parse_query
from core.search.ranking import could_match, rank
from core.search.scoring import file_key
from core.utils.errors import SearchUnavailableError
from services.ports import FileRepository, SearchKeyRepository
from services.search_index import SearchIndexService

__all__ = [
    "RESULTS_PREFIX",
    "RESULT_CAP",
    "SEARCH_TOKEN_LENGTH",
    "SEND_ALL_FROM",
    "SearchPage",
    "SearchResults",
    "SearchService",
    "ShownSearch",
    "needs_token",
    "search_over_index",
]

SEND_ALL_FROM = 3  # files on a page from which "Send all" is offered (two are two taps)
SEARCH_TOKEN_LENGTH = 8  # characters of a remembered search's token (`remember`)
RESULTS_PREFIX = "s_"
"""`/start s_<token>`: a remembered search's results, in private chat (a group's link)."""

RESULT_CAP = 500  # totals are exact up to here, "500+" beyond
MAX_VARIANTS = 3  # the query, and up to two with adjacent words joined
TYPO_VARIANTS_BELOW = 10  # files found: below it, the joined variants get a typo pass too
MAX_TARGETED_EVICTION = 50  # changed files above which the whole result cache is dropped
RECORD_CACHE_SIZE = 5_000  # stored files of inline answers kept (100 pages of 50)
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Ranked:
    keys: tuple[int, ...]  # the files' keys (`core.search.scoring.file_key`), best first
    total: int
    capped: bool
    kinds: dict[str, int]
    types: tuple[str, ...] = ()  # the file type of each key, for type filters
    key_set: frozenset[int] = field(init=False)  # the keys again, to test membership

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_set", frozenset(self.keys))

    def only(self, kind: str) -> tuple[int, ...]:
        return tuple(k for k, t in zip(self.keys, self.types, strict=True) if t == kind)


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: ParsedQuery
    items: tuple[FileListing, ...]  # from the index; `SearchService.records` reads the files
    page: int
    page_size: int
    total: int
    capped: bool
    kinds: dict[str, int]
    suggestions: tuple[str, ...] = ()
    text: str = ""  # the query as the user typed it
    kind: str | None = None  # the type filter applied ("video", ...); `kinds` counts them all

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.page_size))

    @property
    def total_label(self) -> str:
        return f"{RESULT_CAP}+" if self.capped else str(self.total)


@dataclass(frozen=True, slots=True)
class ShownSearch:
    page: SearchPage
    token: str
    suggestions: tuple[tuple[str, str], ...]  # (suggested query, its token)


class SearchResults:
    """The ranked results of recent queries, kept until the index changes what they contain,
    and the stored files of recent inline answers (`records`), kept until the index applies a
    change to them. The index tells it what it applied (`evict`) and when it was rebuilt
    (`clear`); the search service reads through it."""

    def __init__(
        self,
        timer: Callable[[], float],
        *,
        seconds: float = 300.0,
        size: int = 2_000,
        records: int = RECORD_CACHE_SIZE,
    ) -> None:
        self._cache: EnhancedCache[str, _Ranked] = EnhancedCache(
            "search_results", maxsize=size, ttl=seconds, timer=timer
        )
        self._records: EnhancedCache[str, FileRecord] = EnhancedCache(
            "search_records", maxsize=records, ttl=seconds, timer=timer
        )

    @property
    def generation(self) -> int:
        """Changes applied to the cached files so far: a read begun before one is not kept."""
        return self._records.changes

    def clear(self) -> None:
        """The index was rebuilt (or is being): every cached result is stale."""
        self._cache.clear()
        self._records.clear()

    def records(self, file_ids: Sequence[str]) -> dict[str, FileRecord]:
        """The cached stored files among `file_ids`."""
        found = {}
        for file_id in file_ids:
            record = self._records.get(file_id)
            if record is not None:
                found[file_id] = record
        return found

    def keep_records(self, records: Sequence[FileRecord], generation: int) -> None:
        """Cache files read from the database when `generation` was current; a read that a
        change overtook is not kept (it may hold what the change replaced)."""
        for record in records:
            self._records.set(record.id, record, unless_changed_since=generation)

    def stats(self) -> CacheStats:
        return self._cache.stats()

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[_Ranked]]) -> _Ranked:
        return await self._cache.get_or_load(key, load)

    def evict(self, upserts: Sequence[FileRecord], deletes: Sequence[str]) -> None:
        """Drop only the cached results that a change makes stale: those that contain a changed
        or deleted file, and those whose query the new version of a file could match (typos
        included). A busy channel then keeps the other queries' results warm. A large batch
        (history indexing) clears everything: checking each query would cost more. Cached
        stored files are dropped by id, however many."""
        for file_id in (*(r.id for r in upserts), *deletes):
            self._records.delete(file_id)
        if len(upserts) > MAX_TARGETED_EVICTION:
            self.clear()
            return
        touched = {file_key(i) for i in (*(r.id for r in upserts), *deletes)}

        def stale(key: str, ranked: _Ranked) -> bool:
            if not touched.isdisjoint(ranked.key_set):
                return True
            query = ParsedQuery.from_key(key)
            return any(could_match(record, query) for record in upserts)

        self._cache.invalidate_where(stale)


class SearchService:
    def __init__(
        self,
        files: FileRepository,
        clock: Clock,
        *,
        index: SearchIndexService,
        results: SearchResults,
        searches: SearchKeyRepository | None = None,
        on_timing: Callable[[float], None] | None = None,
    ) -> None:
        """`index`: the full-text projection that finds and ranks files; while it is being
        rebuilt, searches raise `SearchUnavailableError` (the user reads "being rebuilt").
        `results`: the cache of ranked results, which the index keeps fresh (built with
        `on_changes=results.evict, on_rebuilt=results.clear`)."""
        self._files = files
        self._searches = searches
        self.index = index
        self.on_timing = on_timing  # seconds per search (metrics)
        self._clock = clock
        self._results = results
        # Tokens this process has stored (a repeated query writes nothing).
        self._remembered: EnhancedCache[str, bool] = EnhancedCache(
            "search_tokens", maxsize=100_000, ttl=None, timer=clock.monotonic
        )

    def invalidate(self) -> None:
        """The index changed: cached results are stale."""
        self._results.clear()

    def cache_stats(self) -> CacheStats:
        """The result cache's counters (hits, misses, size), for /cache and the benchmarks."""
        return self._results.stats()

    async def changed(self, *, soon: bool = False) -> None:
        """This instance wrote files: the full-text index catches up at once (a new post is
        found by the next search) and drops the cached results those files change
        (`SearchResults.evict`). `soon`: in the background, without waiting (a bulk writer's
        batches)."""
        if not self.index.ready:
            self.invalidate()
        elif soon:
            self.index.catch_up_soon()
        else:
            await self.index.catch_up(window=False)

    async def search(
        self,
        text: str,
        *,
        page: int = 1,
        page_size: int = 10,
        prefix: bool = False,
        suggest: bool = True,
        typos: bool = True,
    ) -> SearchPage:
        """One page of results for a (validated) query text; `suggest=False` skips "did you
        mean" (group chatter that matches nothing is answered with silence anyway);
        `typos=False` leaves typo matches out (the `typo_tolerance` flag)."""
        began = time.perf_counter()
        parsed = parse_query(text, prefix=prefix)
        result = await self.search_parsed(parsed, page, page_size, suggest=suggest, typos=typos)
        if self.on_timing is not None:
            self.on_timing(time.perf_counter() - began)
        return replace(result, text=text)

    async def search_parsed(
        self,
        query: ParsedQuery,
        page: int = 1,
        page_size: int = 10,
        *,
        kind: str | None = None,
        suggest: bool = True,
        typos: bool = True,
    ) -> SearchPage:
        """Pages are addressed by (query key, type filter, page number): recomputed from the
        cache or the database, so the same page comes back after a restart."""
        if query.empty:
            return SearchPage(query, (), 1, page_size, 0, capped=False, kinds={}, text="")
        key = query.key if typos else f"{query.key}\x00exact"
        ranked = await self._results.get_or_load(key, lambda: self._rank(query, typos=typos))
        keys = ranked.only(kind) if kind else ranked.keys
        total = len(keys) if kind else ranked.total
        start = (page - 1) * page_size
        items = await self._listings(keys[start : start + page_size])
        suggestions: tuple[str, ...] = ()
        if ranked.total == 0 and suggest:
            suggestions = tuple(await self.suggest(query))
        return SearchPage(
            query,
            tuple(items),
            page,
            page_size,
            total,
            ranked.capped and not kind,
            ranked.kinds,
            suggestions,
            text=" ".join(query.words),
            kind=kind,
        )

    async def _listings(self, keys: Sequence[int]) -> list[FileListing]:
        """The page's files as the index lists them: no database round trip (at a million
        files on the embedded server that fetch was most of a search's time)."""
        hits = await self.index.listings(keys) if keys else []
        if hits is None:
            raise SearchUnavailableError(self.index.rebuilt_files)
        return [FileListing(h.id, h.name, h.size, h.kind) for h in hits]

    async def records(self, listed: Sequence[FileListing]) -> list[FileRecord]:
        """The stored files of a page's listings, in their order (inline answers hand the
        files themselves out); files deleted meanwhile are left out. Read through a cache that
        the index's change feed keeps in step (`SearchResults.evict`): a file changed or
        deleted here is dropped at once, one changed by another instance within a catch-up
        (5 s), as the index's listings are."""
        ids = [f.id for f in listed]
        found = self._results.records(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            generation = self._results.generation
            read = await self._files.get_many(missing)
            self._results.keep_records(read, generation)
            found.update((r.id, r) for r in read)
        return [found[i] for i in ids if i in found]

    async def remember(self, query: ParsedQuery, text: str | None = None) -> str:
        """A short durable token for the query as typed (8 url-safe characters): `text` is how
        the user wrote it, shown again on later pages. The token covers the text as well as the
        query key, so two wordings of the same query never share a token, and one user's
        wording never shows up on another user's pages."""
        if self._searches is None:
            raise RuntimeError("SearchService was built without a search-key repository")
        token, display = self.token_of(query, text)
        if self._remembered.get(token) is None:  # stored once per process: tokens never change
            await self._searches.remember(token, query.key, display, self._clock.now())
            self._remembered.set(token, True)
        return token

    @staticmethod
    def token_of(query: ParsedQuery, text: str | None = None) -> tuple[str, str]:
        """(token, text shown): the same query as typed always has the same token."""
        display = text if text is not None else " ".join(query.words)
        digest = hashlib.blake2b(f"{query.key}\x00{display}".encode(), digest_size=6).digest()
        return base64.urlsafe_b64encode(digest).decode(), display

    @overload
    async def search_to_show(
        self, text: str, *, typos: bool = ..., suggest: bool = ..., quiet: Literal[False] = ...
    ) -> ShownSearch: ...
    @overload
    async def search_to_show(
        self, text: str, *, typos: bool = ..., suggest: bool = ..., quiet: Literal[True]
    ) -> ShownSearch | None: ...
    async def search_to_show(
        self, text: str, *, typos: bool = True, suggest: bool = True, quiet: bool = False
    ) -> ShownSearch | None:
        """Page 1 for a query typed in a chat, with durable tokens for it and its suggestions
        (what page and "did you mean" buttons carry). `quiet` (a group's chatter): None when
        nothing matches and there is nothing to suggest, with nothing written."""
        page = await self.search(text, typos=typos, suggest=suggest)
        if quiet and page.total == 0 and not page.suggestions:
            return None
        if needs_token(page):
            token = await self.remember(page.query, text)
        else:  # no button will carry it: nothing to store
            token, _ = self.token_of(page.query, text)
        # A list comprehension may await; a generator expression would become async.
        suggestions = [(s, await self.remember(parse_query(s), s)) for s in page.suggestions]
        return ShownSearch(page, token, tuple(suggestions))

    async def page_for_token(
        self,
        token: str,
        page: int,
        page_size: int = 10,
        *,
        kind: str | None = None,
        typos: bool = True,
    ) -> SearchPage | None:
        """The page of a remembered query; None when the token is unknown."""
        if self._searches is None:
            return None
        found = await self._searches.key(token)
        if found is None:
            return None
        key, text = found
        result = await self.search_parsed(
            ParsedQuery.from_key(key), page, page_size, kind=kind, typos=typos
        )
        return replace(result, text=text)

    async def exact_matches(self, text: str, limit: int = RESULT_CAP) -> list[FileRecord]:
        """The files every word of `text` matches as written (no typo matches, no joined
        variants): what `/delete` may remove, best match first."""
        if not self.index.ready:
            raise SearchUnavailableError(self.index.rebuilt_files)
        query = parse_query(text)
        filters = Filters(query.kind, query.year, query.season, query.episode, query.resolution)
        hits = await self.index.search(
            query.variants()[0], filters=filters, limit=limit, fuzzy_limit=0
        )
        if hits is None:
            raise SearchUnavailableError(self.index.rebuilt_files)
        ordered = rank([h for h in hits if h.exact], query)
        return await self._files.get_many([h.id for h in ordered])

    async def text_for_token(self, token: str) -> str | None:
        """The query text a token was remembered for (None: unknown token)."""
        if self._searches is None:
            return None
        found = await self._searches.key(token)
        return found[1] if found is not None else None

    async def _rank(self, query: ParsedQuery, *, typos: bool = True) -> _Ranked:
        """Every variant's exact matches, then the files that match within the typo distance
        (ranked below them), ranked and counted by the index from its fast fields
        (`TantivyIndex.rank`): no database round trip, no stored document read."""
        if not self.index.ready:
            raise SearchUnavailableError(self.index.rebuilt_files)
        filters = Filters(query.kind, query.year, query.season, query.episode, query.resolution)
        # Typo matches are looked for in the joined variants ("spidr man" as "spidrman", for a
        # file named "Spiderman") only while fewer than a page of files was found: past a
        # page, they add only files ranked below the others.
        ranking = await self.index.rank(
            query.variants()[:MAX_VARIANTS],
            words=query.terms,
            prefix=query.prefix,
            filters=filters,
            limit=RESULT_CAP,
            typos=typos,
            typos_while_below=TYPO_VARIANTS_BELOW,
        )
        if ranking is None:
            raise SearchUnavailableError(self.index.rebuilt_files)
        return _Ranked(
            keys=ranking.keys,
            total=min(ranking.total, RESULT_CAP),
            capped=ranking.total > RESULT_CAP,
            kinds=dict(Counter(ranking.kinds)),
            types=ranking.kinds,
        )

    async def suggest(self, query: ParsedQuery, limit: int = 3) -> list[str]:
        """ "Did you mean", when nothing matches even within the typo distance: each word that
        no file has replaced by a close title word that files really have (never a joined
        fragment, never the same word twice); only suggestions that find files are offered."""
        words = query.words
        options: list[list[str]] = []
        for word in words:
            known = await self.index.search([word], limit=1)
            if known and known[0].exact:
                options.append([word])
                continue
            close = [w for w in await self.index.similar_words(word, limit) if w not in words]
            if not close:
                return []
            options.append(close)
        if all(len(o) == 1 and o[0] in words for o in options):
            return []
        suggestions: list[str] = []
        for rank_index in range(limit):
            picked = list(dict.fromkeys(o[min(rank_index, len(o) - 1)] for o in options))
            text = " ".join(picked)
            if text in suggestions:
                continue
            if await self.index.search(picked, limit=1):
                suggestions.append(text)
        return suggestions


def search_over_index(
    files: FileRepository,
    clock: Clock,
    directory: Path,
    *,
    searches: SearchKeyRepository | None = None,
    tombstone_days: float = 7.0,
    on_timing: Callable[[float], None] | None = None,
) -> SearchService:
    """A search service over a full-text index in `directory`, with the result cache the
    index keeps fresh: how the app (and the tests and benchmarks that build one by hand) wire
    the three together."""
    results = SearchResults(clock.monotonic)
    index = SearchIndexService(
        files,
        directory,
        tombstone_days=tombstone_days,
        on_changes=results.evict,
        on_rebuilt=results.clear,
    )
    return SearchService(
        files, clock, index=index, results=results, searches=searches, on_timing=on_timing
    )


def needs_token(page: SearchPage) -> bool:
    """Whether a button of the results will carry their token: a next page, type filters, or
    "Send all" (offered from SEND_ALL_FROM files on a page)."""
    return page.pages > 1 or len(page.kinds) > 1 or len(page.items) >= SEND_ALL_FROM

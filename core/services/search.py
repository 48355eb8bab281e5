"""Search: index-backed retrieval, ranking on a bounded candidate set, cached pages, suggestions."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from math import ceil

from rapidfuzz import fuzz, process

from core.cache.enhanced_cache import CacheStats, EnhancedCache
from core.clock import Clock
from core.logging import get_logger
from core.models import FileRecord
from core.search.normalize import pair_key
from core.search.query import ParsedQuery, parse_query
from core.search.ranking import could_match, matches, matches_filters, rank
from core.services.search_index import SearchIndexService
from repositories.files import FileRepository
from repositories.searches import SearchKeyRepository

__all__ = ["RESULT_CAP", "SCAN_CAP", "SearchPage", "SearchService", "ShownSearch"]

RESULT_CAP = 500  # totals are exact up to here, "500+" beyond
SCAN_CAP = 2_000  # candidates read from the index for one query at most
MAX_VARIANTS = 3  # the query, and up to two with adjacent words joined
MAX_TARGETED_EVICTION = 50  # changed files above which the whole result cache is dropped
VOCABULARY_LIMIT = 200_000
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Ranked:
    ids: tuple[str, ...]
    total: int
    capped: bool
    kinds: dict[str, int]
    files: dict[str, FileRecord] = field(default_factory=dict)  # the first pages, already read
    types: tuple[str, ...] = ()  # the file type of each id, for type filters
    id_set: frozenset[str] = field(init=False)  # the ids again, to test membership

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_set", frozenset(self.ids))

    def only(self, kind: str) -> tuple[str, ...]:
        return tuple(i for i, t in zip(self.ids, self.types, strict=True) if t == kind)


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: ParsedQuery
    items: tuple[FileRecord, ...]
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


class SearchService:
    def __init__(
        self,
        files: FileRepository,
        clock: Clock,
        *,
        searches: SearchKeyRepository | None = None,
        index: SearchIndexService | None = None,
        cache_seconds: float = 300.0,
        cache_size: int = 2_000,
    ) -> None:
        """`index`: the full-text projection; while it is not ready (or absent), candidates
        come from MongoDB's own term indexes, exactly as before it existed."""
        self._files = files
        self._searches = searches
        self.index = index
        if index is not None:
            index.on_changes = self._evict
            index.on_rebuilt = self.invalidate
        self._clock = clock
        self._results: EnhancedCache[str, _Ranked] = EnhancedCache(
            "search_results", maxsize=cache_size, ttl=cache_seconds, timer=clock.monotonic
        )
        self._vocabulary: EnhancedCache[str, dict[str, int]] = EnhancedCache(
            "search_vocabulary", maxsize=1, ttl=600.0, timer=clock.monotonic
        )

    def invalidate(self) -> None:
        """The index changed: cached results are stale. The suggestion vocabulary is not
        reloaded for every new file; it refreshes on its own (10 minutes)."""
        self._results.clear()

    def cache_stats(self) -> CacheStats:
        """The result cache's counters (hits, misses, size), for /cache and the benchmarks."""
        return self._results.stats()

    async def changed(self) -> None:
        """This instance wrote files: the full-text index catches up at once (a new post is
        found by the next search) and drops the cached results those files change (`_evict`);
        without an index every cached result is dropped."""
        if self.index is not None and self.index.ready:
            await self.index.catch_up()
        else:
            self.invalidate()

    def _evict(self, upserts: Sequence[FileRecord], deletes: Sequence[str]) -> None:
        """Drop only the cached results that a change makes stale: those that contain a changed
        or deleted file, and those whose query the new version of a file could match (typos
        included). A busy channel then keeps the other queries' results warm. A large batch
        (history indexing) clears everything: checking each query would cost more."""
        if len(upserts) > MAX_TARGETED_EVICTION:
            self.invalidate()
            return
        touched = {r.id for r in upserts} | set(deletes)

        def stale(key: str, ranked: _Ranked) -> bool:
            if not touched.isdisjoint(ranked.id_set):
                return True
            query = ParsedQuery.from_key(key)
            return any(could_match(record, query) for record in upserts)

        self._results.invalidate_where(stale)

    async def search(
        self,
        text: str,
        *,
        page: int = 1,
        page_size: int = 10,
        prefix: bool = False,
        suggest: bool = True,
    ) -> SearchPage:
        """One page of results for a (validated) query text; `suggest=False` skips "did you
        mean" (group chatter that matches nothing is answered with silence anyway)."""
        parsed = parse_query(text, prefix=prefix)
        result = await self.search_parsed(parsed, page, page_size, suggest=suggest)
        return replace(result, text=text)

    async def search_parsed(
        self,
        query: ParsedQuery,
        page: int = 1,
        page_size: int = 10,
        *,
        kind: str | None = None,
        suggest: bool = True,
    ) -> SearchPage:
        """Pages are addressed by (query key, type filter, page number): recomputed from the
        cache or the database, so the same page comes back after a restart."""
        if query.empty:
            return SearchPage(query, (), 1, page_size, 0, capped=False, kinds={}, text="")
        ranked = await self._results.get_or_load(query.key, lambda: self._rank(query))
        ids = ranked.only(kind) if kind else ranked.ids
        total = len(ids) if kind else ranked.total
        start = (page - 1) * page_size
        wanted = ids[start : start + page_size]
        if all(i in ranked.files for i in wanted):
            items = [ranked.files[i] for i in wanted]
        else:
            items = await self._files.get_many(wanted)
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

    async def remember(self, query: ParsedQuery, text: str | None = None) -> str:
        """A short durable token for the query as typed (8 url-safe characters): `text` is how
        the user wrote it, shown again on later pages. The token covers the text as well as the
        query key, so two wordings of the same query never share a token, and one user's
        wording never shows up on another user's pages."""
        if self._searches is None:
            raise RuntimeError("SearchService was built without a search-key repository")
        display = text if text is not None else " ".join(query.words)
        digest = hashlib.blake2b(f"{query.key}\x00{display}".encode(), digest_size=6).digest()
        token = base64.urlsafe_b64encode(digest).decode()
        await self._searches.remember(token, query.key, display, self._clock.now())
        return token

    async def search_to_show(self, text: str) -> ShownSearch:
        """Page 1 for a query typed in a chat, with durable tokens for it and its suggestions
        (what page and "did you mean" buttons carry)."""
        page = await self.search(text)
        token = await self.remember(page.query, text)
        # A list comprehension may await; a generator expression would become async.
        suggestions = [(s, await self.remember(parse_query(s), s)) for s in page.suggestions]
        return ShownSearch(page, token, tuple(suggestions))

    async def page_for_token(
        self, token: str, page: int, page_size: int = 10, *, kind: str | None = None
    ) -> SearchPage | None:
        """The page of a remembered query; None when the token is unknown."""
        if self._searches is None:
            return None
        found = await self._searches.key(token)
        if found is None:
            return None
        key, text = found
        result = await self.search_parsed(ParsedQuery.from_key(key), page, page_size, kind=kind)
        return replace(result, text=text)

    async def _rank(self, query: ParsedQuery) -> _Ranked:
        from_index = await self._rank_from_index(query)
        if from_index is not None:
            ordered = from_index
        else:
            found: dict[str, FileRecord] = {}
            for terms in query.variants()[:MAX_VARIANTS]:
                variant = query.with_terms(terms)
                for record in await self._candidates(variant):
                    if record.id not in found and matches(record, variant):
                        found[record.id] = record
            ordered = rank(list(found.values()), query)
        capped = len(ordered) > RESULT_CAP
        ordered = ordered[:RESULT_CAP]
        return _Ranked(
            ids=tuple(r.id for r in ordered),
            total=len(ordered),
            capped=capped,
            kinds=dict(Counter(r.file_type for r in ordered)),
            files={r.id: r for r in ordered[:50]},
            types=tuple(r.file_type for r in ordered),
        )

    async def _rank_from_index(self, query: ParsedQuery) -> list[FileRecord] | None:
        """Ranked matches through the full-text index: every variant's exact matches, then the
        files that match within the typo distance (ranked below them); None when the index
        cannot answer now."""
        if self.index is None or not self.index.ready:
            return None
        exact: dict[str, FileRecord] = {}
        near: set[str] = set()
        variants = [query.with_terms(t) for t in query.variants()[:MAX_VARIANTS]]
        wanted: list[tuple[ParsedQuery, list[str], list[str]]] = []
        for variant in variants:
            hits = await self.index.search(
                variant.terms, prefix=variant.prefix, kind=variant.kind, limit=SCAN_CAP
            )
            if hits is None:
                return None
            wanted.append(
                (variant, [h.id for h in hits if h.exact], [h.id for h in hits if not h.exact])
            )
        ids = list(dict.fromkeys(i for _, e, f in wanted for i in (*e, *f)))
        records = {r.id: r for r in await self._files.get_many(ids)}
        for variant, exact_ids, fuzzy_ids in wanted:
            for file_id in exact_ids:
                record = records.get(file_id)
                if record is not None and file_id not in exact and matches(record, variant):
                    exact[file_id] = record
            for file_id in fuzzy_ids:
                record = records.get(file_id)
                if record is not None and matches_filters(record, variant):
                    near.add(file_id)
        fuzzy = [records[i] for i in near if i not in exact]
        return rank(list(exact.values()), query) + rank(fuzzy, query)

    async def _choose(self, query: ParsedQuery) -> tuple[str, str] | None:
        """The single most selective indexed predicate: ("pair", "a+b"), ("term", word) or
        ("prefix", start).

        A pair is used only when neither word ever occurs as two words written together
        (`jdf == 0`): then every file containing both has them as tokens, so the pair index
        cannot miss a match.
        """
        if not query.terms:
            return ("prefix", query.prefix) if query.prefix is not None else None
        stats = await self._files.term_stats(query.terms)
        frequencies = {t: df for t, (df, _) in stats.items()}
        if min(frequencies.values()) == 0:
            return None  # some word is in no file at all
        rarest = sorted(query.terms, key=lambda t: (frequencies[t], t))
        if len(rarest) > 1 and stats[rarest[0]][1] == 0 and stats[rarest[1]][1] == 0:
            return ("pair", pair_key(rarest[0], rarest[1]))
        choice = ("term", rarest[0])
        if query.prefix is not None:
            by_prefix = await self._files.prefix_frequency(query.prefix)
            if by_prefix == 0:
                return None
            if by_prefix < frequencies[rarest[0]]:
                choice = ("prefix", query.prefix)
        return choice

    async def _candidates(self, query: ParsedQuery) -> list[FileRecord]:
        choice = await self._choose(query)
        if choice is None:
            return []
        kind, value = choice
        if kind == "prefix":
            return await self._files.with_prefix(value, SCAN_CAP)
        if kind == "pair":
            return await self._files.with_pair(value, SCAN_CAP)
        return await self._files.with_term(value, SCAN_CAP)

    async def plan(self, text: str, *, prefix: bool = False) -> list[tuple[str, str]]:
        """The indexed predicates a search for `text` reads candidates with (for `explain`)."""
        query = parse_query(text, prefix=prefix)
        choices = [await self._choose(query.with_terms(t)) for t in query.variants()]
        return [c for c in choices[:MAX_VARIANTS] if c is not None]

    async def suggest(self, query: ParsedQuery, limit: int = 3) -> list[str]:
        """ "Did you mean": each unknown word replaced by a close word from the index's own
        vocabulary; only suggestions whose every word exists are offered."""
        vocabulary = await self._vocabulary.get_or_load(
            "all", lambda: self._files.vocabulary(VOCABULARY_LIMIT)
        )
        if not vocabulary:
            return []
        words = query.words
        options: list[list[tuple[str, float]]] = []
        for word in words:
            if vocabulary.get(word, 0) > 0:
                options.append([(word, 100.0)])
                continue
            close = process.extract(
                word, vocabulary.keys(), scorer=fuzz.ratio, limit=5, score_cutoff=70
            )
            ranked = sorted(close, key=lambda m: (-m[1], -vocabulary[m[0]], m[0]))
            options.append([(m[0], float(m[1])) for m in ranked[:limit]])
        if any(not o for o in options) or all(o[0][1] == 100.0 for o in options):  # noqa: PLR2004
            return []
        suggestions: list[str] = []
        for rank_index in range(limit):
            picked = [o[min(rank_index, len(o) - 1)][0] for o in options]
            text = " ".join(picked)
            if text not in suggestions:
                suggestions.append(text)
        return suggestions

"""Broad queries at 100k and 1M files (issue #45): one and two common words, with and without a
typo, and specific titles, ranked through `TantivyIndex.rank` (fast fields, core/search/ranker.py)
and listed (the page's 10 stored documents), next to the same run's former ranking (each
variant's 2,000 shortest matches read as stored documents and scored in Python, what the
search service did before) and to the engine alone (the top 10 of the first variant).

Run: `make bench` (or `.venv/bin/python -m bench.broad [--sizes 100000 1000000]`).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from bench.report import write_section
from bench.search import corpus, query_set, typo
from core.search.fulltext import Filters, Hit, TantivyIndex
from core.search.query import ParsedQuery, parse_query
from core.search.ranking import rank
from services.indexing import build_record
from services.search_index import indexed_file

DEFAULT_SIZES = (100_000, 1_000_000)
BATCH = 1_000  # files indexed at the same moment, as an indexing job stores them
PAGE = 10
RESULT_CAP = 500  # what the search service ranks at most
FORMER_SCAN_CAP = 2_000  # the former ranking's candidates per variant
PER_KIND = 10
ROUNDS = 6  # the first warms up: 50 timings per kind
HEADER = (
    "| files | query kind | matches | ours p50 ms | ours p95 ms | former p50 ms | former p95 ms"
    " | engine p50 ms |"
)
KINDS = (
    "one common word",
    "two common words",
    "one common word, a typo",
    "two common words, a typo",
    "specific title",
)


async def build(size: int, directory: Path) -> tuple[TantivyIndex, list[tuple[str, str]]]:
    files, title_of = corpus(size)
    index = await TantivyIndex.create(directory, bulk=True)
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    # Newest first, as the bot's rebuild writes them (`FileRepository.scan(newest_first=True)`).
    for first in reversed(range(0, size, 50_000)):
        chunk = files[first : first + 50_000]
        records = [
            build_record(
                f, datetime.fromtimestamp(start + (first + i) // BATCH, UTC), pending=False
            )
            for i, f in enumerate(chunk)
        ]
        indexed = [indexed_file(r) for r in reversed(records) if r is not None]
        await index.apply(indexed, [], watermark=size - first, fresh=True)
    await index.end_bulk()
    return index, queries(files, title_of)


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def queries(files: list[Any], title_of: dict[str, Any]) -> list[tuple[str, str]]:
    rng = random.Random(45)
    words: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for f in files:
        title = sorted(set(title_of[f.unique_id].words))
        words.update(title)
        pairs.update(combinations(title, 2))
    common = [w for w, _ in words.most_common(PER_KIND)]
    two = [" ".join(p) for p, _ in pairs.most_common(PER_KIND)]
    found: list[tuple[str, str]] = [("one common word", w) for w in common]
    found += [("two common words", p) for p in two]
    found += [("one common word, a typo", typo(rng, w)) for w in common]
    found += [
        ("two common words, a typo", typo(rng, p.split()[0]) + " " + p.split()[1]) for p in two
    ]
    exact = [q for kind, q, _ in query_set(files, title_of) if kind == "exact title"]
    found += [("specific title", q) for q in exact[:PER_KIND]]
    return found


async def ours(index: TantivyIndex, query: ParsedQuery) -> tuple[int, list[str]]:
    ranking = await index.rank(
        query.variants()[:3],
        words=query.terms,
        prefix=query.prefix,
        filters=_filters(query),
        limit=RESULT_CAP,
        typos=True,
        typos_while_below=PAGE,
    )
    page = await index.listings(ranking.keys[:PAGE])
    return ranking.total, [h.name for h in page]


async def former(index: TantivyIndex, query: ParsedQuery) -> tuple[int, list[str]]:
    """The search service's ranking before #45's fast fields: each variant's exact matches (its
    2,000 shortest) and typo matches read as stored documents, scored in Python."""
    exact: dict[str, Hit] = {}
    near: dict[str, Hit] = {}
    found: set[str] = set()
    for n, variant in enumerate(query.variants()[:3]):
        room = RESULT_CAP if n == 0 or len(found) < PAGE else 0
        hits = await index.search(
            variant,
            prefix=query.prefix,
            filters=_filters(query),
            limit=FORMER_SCAN_CAP,
            fuzzy_limit=room,
        )
        found.update(h.id for h in hits)
        for hit in hits:
            (exact if hit.exact else near).setdefault(hit.id, hit)
    ordered = rank(list(exact.values()), query)
    ordered += rank([h for i, h in near.items() if i not in exact], query)
    page = await index.listings([h.key for h in ordered[:PAGE]])
    return min(len(ordered), RESULT_CAP), [h.name for h in page]


async def engine(index: TantivyIndex, query: ParsedQuery) -> tuple[int, list[str]]:
    hits = await index.search(
        query.variants()[0], filters=_filters(query), limit=PAGE, fuzzy_limit=0
    )
    return len(hits), [h.name for h in hits]


def _filters(query: ParsedQuery) -> Filters:
    return Filters(query.kind, query.year, query.season, query.episode, query.resolution)


async def timed(
    call: Callable[[TantivyIndex, ParsedQuery], Awaitable[tuple[int, list[str]]]],
    index: TantivyIndex,
    query: ParsedQuery,
) -> tuple[float, int]:
    began = time.perf_counter()
    total, _ = await call(index, query)
    return (time.perf_counter() - began) * 1000, total


async def run_size(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-broad-") as tmp:
        began = time.perf_counter()
        index, asked = await build(size, Path(tmp) / "search")
        built = time.perf_counter() - began
        times: dict[tuple[str, str], list[float]] = {}
        totals: dict[str, list[int]] = {}
        # Each way's queries in a block of their own: interleaved, the former's scans of
        # stored documents evicted ours from the CPU's caches (0.4-0.7 ms more at the median).
        for name, call in (("ours", ours), ("former", former), ("engine", engine)):
            for round_ in range(ROUNDS):
                for kind, text in asked:
                    ms, total = await timed(call, index, parse_query(text))
                    if round_:
                        times.setdefault((kind, name), []).append(ms)
                    if round_ == 0 and name == "ours":
                        totals.setdefault(kind, []).append(total)
        await index.close()
    return {
        "size": size,
        "built": built,
        "times": times,
        "totals": totals,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "Generated release names of the search benchmark (seeded), indexed as the bot indexes",
        f"them (in batches of {BATCH:,} stored at the same moment); {PER_KIND} queries per kind,",
        f"{ROUNDS - 1} timed rounds after a warm-up, each way's in a block of its own, latency",
        "of the whole ranking and the page's listing. *Ours*: `TantivyIndex.rank` (every match",
        "ranked and counted from fast fields, only the page's 10 documents read). *Former*: the",
        "same run's ranking as it was before (each variant's 2,000 shortest matches read as",
        "stored documents, scored in Python).",
        "*Engine*: tantivy's top 10 of the first variant alone, the floor. Matches: the median",
        "count ours reports (500 = 500 or more).",
        "",
        HEADER,
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for kind in KINDS:
            ours_t, former_t = r["times"][(kind, "ours")], r["times"][(kind, "former")]
            engine_t = r["times"][(kind, "engine")]
            lines.append(
                f"| {r['size']:,} | {kind} | {statistics.median(r['totals'][kind]):.0f} "
                f"| **{statistics.median(ours_t):.2f}** | **{_pct(ours_t, 0.95):.2f}** "
                f"| {statistics.median(former_t):.2f} | {_pct(former_t, 0.95):.2f} "
                f"| {statistics.median(engine_t):.2f} |"
            )
    lines.append("")
    lines.append(
        "Index build (50k-file commits, bulk): "
        + ", ".join(f"{r['size']:,} files {r['built']:.0f} s" for r in results)
        + f"; peak RSS of the process {results[-1]['rss']:.0f} MB (corpus included)."
    )
    return "\n".join(lines)


async def main_async(sizes: list[int]) -> str:
    return render([await run_size(size) for size in sizes])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    args = parser.parse_args()
    body = asyncio.run(main_async(args.sizes))
    write_section("broad", "Broad queries", "make bench", body)


if __name__ == "__main__":
    main()

"""The search result cache in a busy channel: one new file a second and 20 searches a second
(Zipf-distributed over 500 distinct queries), on 10,000 files, for 5 simulated minutes. Hit
rate of the result cache with targeted eviction (a new file drops only the cached results it
can change) against the same run with the old rule (every new file clears the cache).

Run: `make bench` (or `.venv/bin/python -m bench.busy_channel`).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write_section
from bench.search import corpus
from core.logging import configure_logging
from repositories import ALL_INDEXES
from repositories.embedded import EmbeddedServer
from repositories.files import MongoFileRepository
from repositories.mongo import Database
from services.indexing import IndexingService
from services.search import search_over_index
from testkit.clock import VirtualClock

LIBRARY = 10_000
SECONDS = 300
SEARCHES_PER_SECOND = 20
DISTINCT_QUERIES = 500
ZIPF_S = 1.1
SEED = 20261123


async def run(uri: str, name: str, *, clear_all: bool) -> dict[str, Any]:
    files, title_of = corpus(LIBRARY + SECONDS)
    library, arrivals = files[:LIBRARY], files[LIBRARY:]
    rng = random.Random(SEED)
    titles = list(dict.fromkeys(" ".join(title_of[f.unique_id].words) for f in library))
    rng.shuffle(titles)
    queries = titles[:DISTINCT_QUERIES]
    weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(queries))]
    database = Database(uri, name)
    await database.start()
    await database.prepare(ALL_INDEXES)
    with tempfile.TemporaryDirectory(prefix="bench-busy-") as tmp:
        clock = VirtualClock()
        repository = MongoFileRepository(database)
        search = search_over_index(repository, clock, Path(tmp) / "search")
        index = search.index
        indexing = IndexingService(repository, search, clock, use_guessit=False)
        for start in range(0, len(library), 1_000):
            await indexing.index(library[start : start + 1_000])
        await index.start()
        await index.wait_rebuilt()  # a new index beside 10,000 files is built first
        before = search.cache_stats()
        started = time.perf_counter()
        for second in range(SECONDS):
            await indexing.index([arrivals[second]])
            if clear_all:
                search.invalidate()
            for text in rng.choices(queries, weights, k=SEARCHES_PER_SECOND):
                await search.search(text)
            clock.advance(1)
        elapsed = time.perf_counter() - started
        after = search.cache_stats()
        await index.close()
    await database.drop()
    await database.close()
    hits, misses = after.hits - before.hits, after.misses - before.misses
    return {"hits": hits, "misses": misses, "rate": hits / (hits + misses), "seconds": elapsed}


async def main_async() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-busy-db-") as tmp:
        server = EmbeddedServer(Path(tmp) / "db")
        uri = await server.start()
        try:
            targeted = await run(uri, "busy_targeted", clear_all=False)
            cleared = await run(uri, "busy_cleared", clear_all=True)
        finally:
            await server.stop()
    lines = [
        (
            f"{LIBRARY:,} generated files, then {SECONDS} simulated seconds of one new file and "
            f"{SEARCHES_PER_SECOND} searches each (Zipf s={ZIPF_S} over {DISTINCT_QUERIES} "
            "title queries), through the search service with the full-text index; the result "
            "cache keeps results 5 minutes. Same run, same arrivals and queries:"
        ),
        "",
        "| eviction on a new file | hits | misses | hit rate | wall time s |",
        "|---|---|---|---|---|",
    ]
    for label, r in (("only the results it can change", targeted), ("clear all", cleared)):
        lines.append(
            f"| {label} | {r['hits']:,} | {r['misses']:,} | {r['rate']:.1%} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    configure_logging(level="WARNING")
    body = asyncio.run(main_async())
    write_section("busy_channel", "Result cache in a busy channel", "make bench", body)


if __name__ == "__main__":
    main()

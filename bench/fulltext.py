"""The full-text projection (core/search/fulltext.py, tantivy) on the generated release names of
bench/search.py: build time, bytes per file on disk, latency of exact and typo queries, recall
without a click, and peak memory. It measures the engine that issue #12 puts behind search,
on its own (no MongoDB), against the same query set as the search benchmark.

Run: `make bench` (or `.venv/bin/python -m bench.fulltext [--sizes 100000 1000000]`).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write_section
from bench.search import corpus, pct, quality, query_set
from core.search.fulltext import IndexedFile, TantivyIndex
from core.search.normalize import index_terms, strip_extension, tokenize

BATCH = 50_000


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def run_size(size: int) -> dict[str, Any]:
    files, title_of = corpus(size)
    queries = query_set(files, title_of)
    with tempfile.TemporaryDirectory(prefix="bench-fulltext-") as tmp:
        index = await TantivyIndex.open(Path(tmp) / "search")
        started = time.perf_counter()
        for start in range(0, len(files), BATCH):
            batch = [
                IndexedFile(
                    f.unique_id,
                    tuple(index_terms(tokenize(strip_extension(f.file_name or "")))),
                    "video",
                )
                for f in files[start : start + BATCH]
            ]
            await index.apply(batch, [], watermark=start + len(batch))
        build = time.perf_counter() - started
        await index.close()
        on_disk = directory_bytes(Path(tmp) / "search")
        index = await TantivyIndex.open(Path(tmp) / "search")
        timings: dict[str, list[float]] = {}
        scores: dict[str, list[float]] = {}
        for _ in range(3):  # warm, then timed twice
            for kind, text, relevant in queries:
                began = time.perf_counter()
                hits = await index.search(tokenize(text), limit=50)
                timings.setdefault(kind, []).append((time.perf_counter() - began) * 1000)
                scores.setdefault(kind, []).append(quality([h.id for h in hits], relevant)[0])
        # catch-up: 1,000 new files applied and committed at once
        extra = [IndexedFile(f"new{n}", ("caught", "up", f"n{n}"), "video") for n in range(1_000)]
        began = time.perf_counter()
        await index.apply(extra, [], watermark=size + 1_000)
        catch_up = time.perf_counter() - began
        await index.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "size": size,
        "build": build,
        "bytes": on_disk / size,
        "timings": timings,
        "scores": scores,
        "catch_up": catch_up,
        "rss": rss_mb,
    }


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "Generated release names of the search benchmark (seeded), indexed as the terms the bot",
        "indexes (words plus adjacent pairs written together) with tantivy, in batches of 50k",
        "committed one after another; then the search benchmark's query set, through",
        "`TantivyIndex.search` (exact hits first, then within the edit distance), 3 rounds,",
        "latency over all of them. No MongoDB in this one: it is the engine alone, under the",
        'bot\'s search ("Search" above measures the whole path). Order here is the',
        "engine's own (exact before typo matches, shortest names first).",
        "",
        (
            "| files | build s | bytes/file on disk | p50 ms | p95 ms "
            "| 1,000-file catch-up ms | peak RSS MB |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        all_ms = [t for values in r["timings"].values() for t in values]
        lines.append(
            f"| {r['size']:,} | {r['build']:.1f} | {r['bytes']:.0f} | {pct(all_ms, 0.5):.2f} "
            f"| {pct(all_ms, 0.95):.2f} | {r['catch_up'] * 1000:.0f} | {r['rss']:.0f} |"
        )
    lines += [
        "",
        "Recall@10 without a click, on the largest size (peak RSS is the process's, corpus",
        "generation included):",
        "",
        "| query kind | recall@10 | p50 ms |",
        "|---|---|---|",
    ]
    last = results[-1]
    for kind, values in last["scores"].items():
        lines.append(
            f"| {kind} | {statistics.mean(values):.2f} | {pct(last['timings'][kind], 0.5):.2f} |"
        )
    return "\n".join(lines)


async def main_async(sizes: list[int]) -> str:
    return render([await run_size(size) for size in sizes])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    body = asyncio.run(main_async(args.sizes))
    command = (
        "make bench"
        if args.sizes == [100_000, 1_000_000]
        else ("python -m bench.fulltext --sizes " + " ".join(map(str, args.sizes)))
    )
    write_section("fulltext", "Full-text index (tantivy projection)", command, body)


if __name__ == "__main__":
    main()

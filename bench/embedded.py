"""The embedded database at scale: how long it takes to answer after a start, and how much
memory it holds, by WiredTiger cache size (`EMBEDDED_DB_CACHE`).

The library is stored once (generated release names, the search benchmark's corpus, through the
real record builder and repository); then, for each cache size, the server is started on it and
asked for a ping and one file (the start), then made to read every file (what a search-index
rebuild reads: the worst case for its cache), and its resident memory is read from /proc.

`python -m bench.embedded [--size N] [--caches 1G 256M ...]`
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write_section
from bench.search import corpus
from core.logging import configure_logging
from repositories import ALL_INDEXES
from repositories.embedded import DEFAULT_CACHE, EmbeddedServer
from repositories.files import MongoFileRepository
from repositories.mongo import Database
from services.indexing import IndexingService
from services.search import search_over_index
from testkit.clock import VirtualClock

DEFAULT_SIZE = 1_000_000
DEFAULT_CACHES = ("1G", "256M", "192M", DEFAULT_CACHE)
NAME = "bench_embedded"


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def build(storage: Path, size: int, work: Path) -> float:
    """Store `size` files; returns seconds."""
    server = EmbeddedServer(storage, cache_size="1G")
    db = Database(await server.start(), NAME)
    await db.start()
    try:
        await db.prepare(ALL_INDEXES)
        files, _ = corpus(size)
        repo = MongoFileRepository(db)
        search = search_over_index(repo, VirtualClock(), work / "search")  # never started
        indexing = IndexingService(repo, search, VirtualClock(), use_guessit=False)
        started = time.perf_counter()
        for i in range(0, len(files), 5_000):
            records = [r for f in files[i : i + 5_000] if (r := indexing.build(f)) is not None]
            await repo.save_many(records, skip_same_name_and_size=False)
        return time.perf_counter() - started
    finally:
        await db.close()
        await server.stop()


async def measure(storage: Path, cache: str) -> dict[str, Any]:
    began = time.perf_counter()
    server = EmbeddedServer(storage, cache_size=cache)
    db = Database(await server.start(timeout=600), NAME)
    await db.start()
    try:
        await db.ping()
        repo = MongoFileRepository(db)
        await repo.count()
        first_answer = time.perf_counter() - began
        process = server._process
        assert process is not None  # noqa: S101 - started above
        after_start = _status_kb(process.pid, "VmRSS")
        scanned, scan_began = 0, time.perf_counter()
        async for page in repo.scan(2_000):
            scanned += len(page)
        scan_seconds = time.perf_counter() - scan_began
        return {
            "cache": cache,
            "first_answer_s": first_answer,
            "rss_start_mb": after_start / 1024,
            "scan_s": scan_seconds,
            "scanned": scanned,
            "rss_mb": _status_kb(process.pid, "VmRSS") / 1024,
            "hwm_mb": _status_kb(process.pid, "VmHWM") / 1024,
        }
    finally:
        await db.close()
        await server.stop()


def render(size: int, build_seconds: float, rows: list[dict[str, Any]]) -> str:
    intro = (
        f"{size:,} generated files (the search benchmark's corpus) stored once in "
        f"{build_seconds:.0f} s; then per WiredTiger cache size (`EMBEDDED_DB_CACHE`) the "
        "embedded server is started on them, asked for a ping and the file count (first "
        "answer, process start included), then made to read every file in pages of 2,000 "
        "(what a search-index rebuild reads: the worst case for its cache). Memory is the "
        "server process's resident set from /proc, after the start and after the read."
    )
    header = "| cache | first answer s | RSS after start MB | read all files s | RSS after MB "
    lines = [intro, "", header + "| peak RSS MB |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['cache']} | {r['first_answer_s']:.1f} | {r['rss_start_mb']:.0f} | "
            f"{r['scan_s']:.1f} | {r['rss_mb']:.0f} | {r['hwm_mb']:.0f} |"
        )
    return "\n".join(lines)


async def main_async(size: int, caches: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as tmp:
        storage = Path(tmp) / "db"
        build_seconds = await build(storage, size, Path(tmp))
        rows = [await measure(storage, cache) for cache in caches]
        return render(size, build_seconds, rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--caches", nargs="+", default=list(DEFAULT_CACHES))
    args = parser.parse_args()
    configure_logging(level="WARNING")
    body = asyncio.run(main_async(args.size, args.caches))
    default = args.size == DEFAULT_SIZE and tuple(args.caches) == DEFAULT_CACHES
    command = "make bench" if default else f"python -m bench.embedded --size {args.size}"
    write_section("embedded", "Embedded database: start and memory", command, body)


if __name__ == "__main__":
    main()

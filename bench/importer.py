"""`python bot.py import` at 100k EvaMaria documents, next to the database's own bulk-insert
rate for the same lean documents in the same run (issue #13: the database must be the limit).

Run: `make bench` (or `.venv/bin/python -m bench.importer [--size N] [--rounds N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import cpu_seconds, write_section
from bench.search import corpus
from core.logging import configure_logging
from core.telegram.fileid import unique_id_of
from repositories import ALL_INDEXES
from repositories.embedded import EmbeddedServer
from repositories.files import MongoFileRepository, to_document
from repositories.foreign import MongoSourceFiles
from repositories.jobs import MongoJobRepository
from repositories.mongo import Database
from services.importer import Importer, from_evamaria
from testkit.clock import VirtualClock
from testkit.evamaria import evamaria_document

DEFAULT_SIZE = 100_000
ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Timed:
    per_second: float
    cpu_ms: float  # the target server's CPU per 1,000 documents


async def run(size: int, rounds: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        server = EmbeddedServer(Path(tmp) / "db")
        uri = await server.start()
        assert server._process is not None  # noqa: S101 - started above
        pid = server._process.pid
        # The other bot's database is another server, as it is in real life (Atlas).
        other = EmbeddedServer(Path(tmp) / "other")
        other_uri = await other.start()
        try:
            files, _ = corpus(size)
            source = Database(other_uri, "bench_evamaria")
            await source.start()
            await source.drop()
            docs = [
                evamaria_document(n, f.file_name or "file", size=f.file_size)
                for n, f in enumerate(files, 1)
            ]
            for i in range(0, size, 5_000):
                await source.collection("Telegram_files").insert_many(docs[i : i + 5_000])

            # The ceiling: our lean documents written with plain insert_many, same indexes.
            clock = VirtualClock()
            converted = [from_evamaria(d, clock.now(), unique_id_of) for d in docs]
            lean = [
                {**to_document(r), "seq": n}
                for n, r in enumerate(converted, 1)
                if not isinstance(r, str)
            ]
            # Ceiling and import in turn, the ceiling first and last: each import is compared
            # with the mean of the ceilings around it.
            ceilings = [await bulk_insert_rate(uri, lean, pid)]
            imports: list[Timed] = []
            for _ in range(rounds):
                target = Database(uri, "bench_import")
                await target.start()
                await target.drop()
                await target.prepare(ALL_INDEXES)
                importer = Importer(
                    MongoFileRepository(target),
                    MongoJobRepository(target),
                    clock,
                    unique_id_of=unique_id_of,
                )
                cpu = cpu_seconds(pid)
                report = await importer.run(MongoSourceFiles(source, "Telegram_files"), "bench")
                cpu_ms = (cpu_seconds(pid) - cpu) / report.imported * 1_000_000
                imports.append(Timed(report.per_second, cpu_ms))
                await target.drop()
                await target.close()
                ceilings.append(await bulk_insert_rate(uri, lean, pid))
            await source.drop()
            await source.close()
        finally:
            await server.stop()
            await other.stop()
    lines = [
        f"{size:,} EvaMaria-shaped documents (generated release names, real-length file ids)",
        "imported through `Importer` (what `python bot.py import` runs: read in batches of",
        "1,000, decode file ids, build records, duplicate checks, bulk writes, a checkpoint",
        "per batch) from a second embedded server into an empty database, next to",
        "`insert_many` of the same lean documents into a collection with the same indexes",
        f"on the same target server, {rounds} imports in turn with {rounds + 1} bulk inserts",
        "(one before the first import and one after each): each import is compared with the",
        "mean of the two around it, as this machine's pace drifts by a fifth within minutes.",
        "The target server's CPU per 1,000 documents is read from /proc, which other work on",
        "the machine disturbs less than the wall clock. Duplicates by name and size are told",
        "from the held files' keys, read once at the start, not looked up per batch.",
        "",
        (
            "| round | bulk insert, documents/s (mean around) | import, documents/s "
            "| import / bulk insert | server CPU ms per 1,000: bulk insert | import |"
        ),
        "|---|---|---|---|---|---|",
    ]
    ratios = []
    for n, timed in enumerate(imports):
        around = (ceilings[n].per_second + ceilings[n + 1].per_second) / 2
        cpu_around = (ceilings[n].cpu_ms + ceilings[n + 1].cpu_ms) / 2
        ratios.append(timed.per_second / around)
        lines.append(
            f"| {n + 1} | {around:,.0f} | {timed.per_second:,.0f} | {ratios[-1]:.0%} "
            f"| {cpu_around:,.0f} | {timed.cpu_ms:,.0f} |"
        )
    best_ceiling = max(c.per_second for c in ceilings)
    best_import = max(t.per_second for t in imports)
    cpu_ratio = statistics.mean(c.cpu_ms for c in ceilings) / statistics.mean(
        t.cpu_ms for t in imports
    )
    lines += [
        "",
        (
            f"Best vs best: **{best_import / best_ceiling:.0%}** ({best_import:,.0f} against "
            f"{best_ceiling:,.0f} documents/s); the median round: "
            f"**{statistics.median(ratios):.0%}**; the server's CPU per document, bulk insert "
            f"over import (means): **{cpu_ratio:.0%}**."
        ),
        "",
        (
            f"Imported {report.imported:,}, duplicates {report.duplicates:,}, malformed "
            f"{report.malformed:,} in each round (the last in {report.seconds:.1f} s)."
        ),
    ]
    return "\n".join(lines)


async def bulk_insert_rate(uri: str, lean: list[dict[str, Any]], pid: int) -> Timed:
    """Documents/s of `insert_many` in batches of 1,000 into a new collection with our
    indexes (dropped afterwards), and the server's (`pid`) CPU per 1,000 documents."""
    raw = Database(uri, "bench_raw_insert")
    await raw.start()
    await raw.drop()
    await raw.prepare(ALL_INDEXES)
    started, cpu = time.perf_counter(), cpu_seconds(pid)
    for i in range(0, len(lean), 1_000):
        await raw.collection("files").insert_many(lean[i : i + 1_000], ordered=False)
    rate = len(lean) / (time.perf_counter() - started)
    cpu_ms = (cpu_seconds(pid) - cpu) / len(lean) * 1_000_000
    await raw.drop()
    await raw.close()
    return Timed(rate, cpu_ms)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    body = asyncio.run(run(args.size, args.rounds))
    command = (
        "make bench"
        if args.size == DEFAULT_SIZE and args.rounds == ROUNDS
        else f"python -m bench.importer --size {args.size} --rounds {args.rounds}"
    )
    write_section("import", "Import from an EvaMaria database", command, body)


if __name__ == "__main__":
    main()

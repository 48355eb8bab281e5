"""`python bot.py import` at 100k EvaMaria documents, next to the database's own bulk-insert
rate for the same lean documents in the same run (issue #13: the database must be the limit).

Run: `make bench` (or `.venv/bin/python -m bench.importer [--size N]`).
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


async def run(size: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        server = EmbeddedServer(Path(tmp) / "db")
        uri = await server.start()
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
            before = await bulk_insert_rate(uri, lean)

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
            report = await importer.run(MongoSourceFiles(source, "Telegram_files"), "bench")
            await target.drop()
            await target.close()
            await source.drop()
            await source.close()
            after = await bulk_insert_rate(uri, lean)
        finally:
            await server.stop()
            await other.stop()
    ceiling = (before + after) / 2
    ratio = report.per_second / ceiling
    return "\n".join(
        [
            f"{size:,} EvaMaria-shaped documents (generated release names, real-length file ids)",
            "imported through `Importer` (what `python bot.py import` runs: read in batches of",
            "1,000, decode file ids, build records, duplicate checks, bulk writes, a checkpoint",
            "per batch) from a second embedded server into an empty database, next to",
            "`insert_many` of the same lean documents into a collection with the same indexes,",
            "on the same target server in the same run, once before the import and once after",
            "(the server's pace drifts by a fifth within minutes here: the ceiling is their",
            "mean). Duplicates by name and size are told from the held files' keys, read once",
            "at the start, not looked up per batch.",
            "",
            "| | documents/s |",
            "|---|---|",
            f"| database bulk insert, before the import | {before:,.0f} |",
            f"| database bulk insert, after the import | {after:,.0f} |",
            f"| database bulk insert (ceiling: the mean) | {ceiling:,.0f} |",
            f"| import | {report.per_second:,.0f} (**{ratio:.0%}** of the ceiling) |",
            "",
            (
                f"Imported {report.imported:,}, duplicates {report.duplicates:,}, malformed "
                f"{report.malformed:,} in {report.seconds:.1f} s."
            ),
        ]
    )


async def bulk_insert_rate(uri: str, lean: list[dict[str, Any]]) -> float:
    """Documents/s of `insert_many` in batches of 1,000 into a new collection with our
    indexes (dropped afterwards)."""
    raw = Database(uri, "bench_raw_insert")
    await raw.start()
    await raw.drop()
    await raw.prepare(ALL_INDEXES)
    started = time.perf_counter()
    for i in range(0, len(lean), 1_000):
        await raw.collection("files").insert_many(lean[i : i + 1_000], ordered=False)
    rate = len(lean) / (time.perf_counter() - started)
    await raw.drop()
    await raw.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    body = asyncio.run(run(args.size))
    command = (
        "make bench"
        if args.size == DEFAULT_SIZE
        else f"python -m bench.importer --size {args.size}"
    )
    write_section("import", "Import from an EvaMaria database", command, body)


if __name__ == "__main__":
    main()

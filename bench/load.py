"""Searches under load through the whole bot: the real app (`BotHarness`) on the Telegram double,
200 users searching Zipf-distributed queries over 500 titles, private chat and inline mode, the
result cache on and off.

Two ways of loading it. Closed loop (the capacity): each user sends its next search as soon as
the last was answered, so the bot always has 200 searches waiting and the rate is the most it
answers; the latency there is queueing by construction (200 users at R searches/s wait 200/R s
each, Little's law). Open loop (the latency at a given rate, `--rate`, 150/s by default): the
searches arrive at that rate whatever the answers do (Poisson arrivals, spread over the 200
users), and each latency counts from the moment the search was due, so a bot or a load generator
falling behind shows in it (no coordinated omission).

Measured per run: searches/s, latency p50/p95/p99 (from the update entering Pyrogram to the
answer stored by the double), the database commands per search counted at the wire by the
harness's proxy (reads and writes, background work included: the activity flush, the index's
catch-up), the CPU per search of this process (the bot, plus the double and the load generator
in it) and of the database server, and both processes' peak resident memory. The virtual clock
follows real time, so the bot's periodic work runs as it would live.

`python -m bench.load [--sizes 100000 1000000] [--searches 4000] [--rate 150]`
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import re
import resource
import statistics
import tempfile
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

from bench.report import cpu_seconds, write_section
from bench.search import corpus
from core.logging import configure_logging
from repositories import ALL_INDEXES
from repositories.embedded import EmbeddedServer
from repositories.files import MongoFileRepository
from repositories.mongo import Database
from services.indexing import IndexingService
from services.search import search_over_index
from testkit import BotHarness
from testkit.clock import VirtualClock
from testkit.evamaria import telegram_file_id

DEFAULT_SIZES = (100_000,)
START_SECONDS = 900.0  # real seconds the harness waits for the start (a rebuild at 1M: ~2 min)
USERS = 200
SEARCHES = 4_000
RATE = 150.0  # the open loop's searches/s: the goal of #45 (5x Telegram's 30 messages/s)
TITLES = 500
ZIPF_S = 1.1
READS = frozenset({"find", "aggregate", "count", "distinct", "getMore"})
WRITES = frozenset({"insert", "update", "delete", "findAndModify"})
SETTINGS = {  # a load test, not a flood: the per-user limit would refuse the load itself
    "RATE_LIMIT_PER_MINUTE": "6000",
    "RATE_LIMIT_BURST": "1000",
    "METADATA_WORKERS": "0",
    "ACCURATE_METADATA": "false",
    "LOG_LEVEL": "WARNING",
}


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def build_library(uri: str, name: str, size: int, work: Path) -> list[str]:
    """Store `size` files; the 500 most common titles, as users type them."""
    db = Database(uri, name)
    await db.start()
    try:
        await db.drop()
        await db.prepare(ALL_INDEXES)
        generated, title_of = corpus(size)
        # File ids Pyrogram can decode (inline results are built from them).
        files = [
            dataclasses.replace(f, file_id=telegram_file_id(n + 1, (n + 1) * 7_919))
            for n, f in enumerate(generated)
        ]
        repo = MongoFileRepository(db)
        search = search_over_index(repo, VirtualClock(), work / "unused-search")
        indexing = IndexingService(repo, search, VirtualClock(), use_guessit=False)
        for i in range(0, len(files), 5_000):
            records = [r for f in files[i : i + 5_000] if (r := indexing.build(f)) is not None]
            await repo.save_many(records, skip_same_name_and_size=False)
    finally:
        await db.close()
    counts = Counter(" ".join(title_of[f.unique_id].words) for f in files)
    return [title for title, _ in counts.most_common(TITLES)]


def zipf_queries(titles: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    weights = [1 / (rank**ZIPF_S) for rank in range(1, len(titles) + 1)]
    return rng.choices(titles, weights, k=count)


async def run(  # noqa: PLR0915 - one measurement, spelled out in order
    uri: str,
    name: str,
    titles: list[str],
    *,
    mode: str,
    cache: bool,
    searches: int,
    db_pid: int,
    rate: float | None = None,
    parse: bool = False,
) -> dict[str, Any]:
    """One row: a closed loop, or with `rate` an open loop at that many searches/s. `parse`:
    the double parses what the bot sends, as tests need (off: Telegram does that elsewhere)."""
    harness = BotHarness(database_uri=uri, database_name=name, keep_database=True, **SETTINGS)
    harness.idle_timeout = START_SECONDS  # the start rebuilds the index of the whole library
    async with harness as bot:
        double = bot.telegram
        # A user's answers in the order its searches were sent (in the open loop a user may
        # have two searches out; its replies are taken first in, first out).
        waiting: dict[Any, deque[asyncio.Future[None]]] = defaultdict(deque)
        store = double._store

        def answered(key: Any) -> None:
            if (queue := waiting.get(key)) and not (future := queue.popleft()).done():
                future.set_result(None)

        async def stored(chat_id: int, *args: Any, **kwargs: Any) -> Any:
            message = await store(chat_id, *args, **kwargs)
            if kwargs.get("out"):
                answered(chat_id)
            return message

        class Answers(dict[int, Any]):
            def __setitem__(self, query_id: int, answer: Any) -> None:
                super().__setitem__(query_id, answer)
                answered(("inline", query_id))

        double._store = stored  # type: ignore[method-assign]  # the bench listens, nothing else
        double.inline_answers = Answers(double.inline_answers)
        users = [bot.user(10_000 + i, f"User{i}") for i in range(USERS)]
        for user in users:
            await user.send("/start")  # known users, as in a running bot
        double.parse_messages = parse
        search = bot.running.services.search
        queries = zipf_queries(titles, searches, seed=7)
        per_user = [queries[i::USERS] for i in range(USERS)]
        latencies: list[float] = []
        loop = asyncio.get_running_loop()

        async def one_search(user_id: int, text: str, began: float) -> None:
            if not cache:
                search.invalidate()
            future: asyncio.Future[None] = loop.create_future()
            if mode == "private":
                waiting[user_id].append(future)
                await double.user_sends(user_id, text)
            else:
                query_id = await double.inline_query(user_id, text)
                if query_id in double.inline_answers:  # answered already
                    future.set_result(None)
                else:
                    waiting[("inline", query_id)].append(future)
            await future
            latencies.append(time.perf_counter() - began)

        async def user_loop(user_id: int, mine: list[str]) -> None:
            for text in mine:
                await one_search(user_id, text, time.perf_counter())

        async def open_loop(per_second: float) -> None:
            """Each search is sent when due (Poisson arrivals), answered or not."""
            arrivals = random.Random(11)
            due = time.perf_counter()
            running = []
            for n, text in enumerate(queries):
                due += arrivals.expovariate(per_second)
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                user = users[n % USERS].id
                running.append(asyncio.create_task(one_search(user, text, due)))
            await asyncio.gather(*running)

        async def follow_real_time() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.1)
                now = time.perf_counter()
                bot.clock.advance(now - last)
                last = now

        proxy = bot.database
        assert proxy is not None  # noqa: S101 - a single-server URI: the harness proxies it
        proxy.commands.clear()
        proxy.counting = True
        clock_task = asyncio.create_task(follow_real_time())
        cpu_bot, cpu_db = time.process_time(), cpu_seconds(db_pid)
        began = time.perf_counter()
        if rate is None:
            loops = (user_loop(u.id, q) for u, q in zip(users, per_user, strict=True))
            await asyncio.gather(*loops)
        else:
            await open_loop(rate)
        elapsed = time.perf_counter() - began
        cpu_bot, cpu_db = time.process_time() - cpu_bot, cpu_seconds(db_pid) - cpu_db
        await asyncio.sleep(6)  # one more activity flush: what these searches write
        bot.clock.advance(6)
        await asyncio.sleep(0.5)
        proxy.counting = False
        clock_task.cancel()
        reads = sum(n for (command, _), n in proxy.commands.items() if command in READS)
        writes = sum(n for (command, _), n in proxy.commands.items() if command in WRITES)
        done = len(latencies)
        quantiles = statistics.quantiles(latencies, n=100)
        return {
            "mode": mode,
            "cache": "on" if cache else "off",
            "load": f"open, {rate:.0f}/s offered" if rate is not None else "closed",
            "per_second": done / elapsed,
            "p50": quantiles[49] * 1000,
            "p95": quantiles[94] * 1000,
            "p99": quantiles[98] * 1000,
            "reads": reads / done,
            "writes": writes / done,
            "bot_cpu_ms": cpu_bot / done * 1000,
            "db_cpu_ms": cpu_db / done * 1000,
            "commands": dict(proxy.commands.most_common(6)),
        }


def render(
    size: int, rows: list[dict[str, Any]], peaks: tuple[float, float], *, parse: bool
) -> str:
    lines = [
        (
            f"{size:,} files, {USERS} users, {rows[0]['searches']:,} searches per row "
            f"(Zipf s={ZIPF_S}"
            f" over the {TITLES} most common titles); closed loop: each user sends its next "
            "search when the last was answered (the most the bot answers); open loop: the "
            "searches arrive at the rate offered, answered or not, each latency counted from "
            "when its search was due. The real app on the Telegram double with its embedded "
            "database (`EMBEDDED_DB_CACHE` default). Database commands counted at the wire, "
            "background work included; bot CPU is this process's (the bot, the double and the "
            "load generator). "
            + (
                "The double parses every message the bot sends into Pyrogram objects, as the "
                "tests read them (`--parse`)."
                if parse
                else "The double keeps what the bot sends as Telegram's TL objects, without "
                "parsing them for tests to read (`parse_messages` off; `--parse` turns it on): "
                "that parse cost this process about as much as the bot's own work, and "
                "Telegram does it on its servers."
            )
        ),
        "",
        (
            "| mode | result cache | load | searches/s | p50 ms | p95 ms | p99 ms "
            "| db reads/search | db writes/search | bot CPU ms/search | db CPU ms/search |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['cache']} | {r['load']} | {r['per_second']:.0f} | "
            f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {r['reads']:.2f} | "
            f"{r['writes']:.2f} | {r['bot_cpu_ms']:.1f} | {r['db_cpu_ms']:.1f} |"
        )
    lines += [
        "",
        (
            f"Peak resident memory: bot process {peaks[0]:.0f} MB (with the double and the load "
            f"generator), database server {peaks[1]:.0f} MB."
        ),
    ]
    return "\n".join(lines)


async def main_async(sizes: list[int], searches: int, rate: float, *, parse: bool) -> str:
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for size in sizes:
            server = EmbeddedServer(Path(tmp) / f"db-{size}")
            uri = await server.start(timeout=600)
            try:
                assert server._process is not None  # noqa: S101 - started above
                pid = server._process.pid
                name = f"bench_load_{size}"
                titles = await build_library(uri, name, size, Path(tmp))
                rows = []
                # The closed loop for each mode and cache, then each mode with the cache at the
                # rate offered.
                plan = [(m, c, None) for m in ("private", "inline") for c in (True, False)]
                offered_plan = [("private", True, rate), ("inline", True, rate)]
                for mode, cache, offered in [*plan, *offered_plan]:
                    row = await run(
                        uri,
                        name,
                        titles,
                        mode=mode,
                        cache=cache,
                        searches=searches,
                        db_pid=pid,
                        rate=offered,
                        parse=parse,
                    )
                    row["searches"] = searches
                    rows.append(row)
                own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                sections.append(render(size, rows, (own, _peak_mb(pid)), parse=parse))
            finally:
                await server.stop()
    return "\n\n".join(sections)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--searches", type=int, default=SEARCHES)
    parser.add_argument("--rate", type=float, default=RATE, help="the open loop's searches/s")
    parser.add_argument(
        "--parse", action="store_true", help="the double parses what the bot sends (as in tests)"
    )
    args = parser.parse_args()
    configure_logging(level="WARNING")
    body = asyncio.run(main_async(args.sizes, args.searches, args.rate, parse=args.parse))
    default = (
        tuple(args.sizes) == DEFAULT_SIZES
        and args.searches == SEARCHES
        and args.rate == RATE
        and not args.parse
    )
    command = (
        "make bench"
        if default
        else "python -m bench.load "
        + " ".join(
            [
                f"--sizes {' '.join(map(str, args.sizes))}",
                f"--searches {args.searches}",
                f"--rate {args.rate:g}",
                *(["--parse"] if args.parse else []),
            ]
        )
    )
    write_section("load", "Searches under load", command, re.sub(r"\n{3,}", "\n\n", body))


if __name__ == "__main__":
    main()

"""`/index` of a channel's history on the Telegram double (issue #13), through the real app:

- free fetching: posts/s from ▶️ Start to the last file searchable — the job's own overhead,
  the ceiling an operator gets when Telegram is not the limit;
- Telegram's limit: a FloodWait of S seconds after every N fetches, i.e. N x 200 posts per S
  seconds. The waits pass on the double's virtual clock: the job's rate in that time says whether
  it waits exactly what Telegram asks and wastes no request; its processing (real time, the first
  scenario's rate) runs while Telegram's wait runs in real life, since the next batch is fetched
  while the last one is stored.

Run: `make bench` (or `.venv/bin/python -m bench.backfill [--size N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from bench.report import write_section
from bench.search import corpus
from core.logging import configure_logging
from testkit import BotHarness

DEFAULT_SIZE = 100_000
FLOOD_EVERY = 30  # fetches between FloodWaits
FLOOD_SECONDS = 30  # above Pyrogram's sleep_threshold: the job itself waits


async def scenario(size: int, *, flood: bool) -> dict[str, float]:
    # DATABASE_TIMEOUT: counting 100,000 files at the end may outlast the default 5 s bound
    # on the embedded server; what is measured is the job, not that count.
    async with BotHarness(
        ADMINS="1", ACCURATE_METADATA="false", LOG_LEVEL="WARNING", DATABASE_TIMEOUT="60"
    ) as bot:
        bot.idle_timeout = 3_600  # a 100,000-post job runs for minutes in one `click`
        admin = bot.user(1, "Admin")
        channel = bot.channel("Library")
        files, _ = corpus(size)
        last = None
        for f in files:
            last = await channel.post_history(
                f.file_name, size=f.file_size, mime_type=f.mime_type or ""
            )
        assert last is not None  # noqa: S101 - size > 0
        # The double's history (100,000 parsed Telegram messages) lives in this process, unlike
        # a real channel's: left to the garbage collector, every full collection walks it and
        # the job pays for a heap the bot never has. Frozen, it is left out of collections.
        gc.collect()
        gc.freeze()
        offer = (await admin.forward(last))[-1]
        batches = -(-size // 200)
        floods = (batches - 1) // FLOOD_EVERY if flood else 0
        for i in range(floods):
            # Fault i fires on the ((i + 1) x N)-th fetch after Start's channel check.
            bot.telegram.flood_wait(
                "GetMessages", FLOOD_SECONDS, after=1 + (i + 1) * FLOOD_EVERY - 1 - i
            )
        waited = 0.0
        calls_before = bot.telegram.rpc_log.count("channels.GetMessages")
        started = time.perf_counter()
        await admin.click(offer, "Start")
        jobs = bot.running.services.channel_index
        while (await jobs.recent(1))[0].state != "done":
            await bot.advance(FLOOD_SECONDS)
            waited += FLOOD_SECONDS
        seconds = time.perf_counter() - started
        indexed = await bot.running.services.indexing.count_in_chat(channel.id)
        if indexed != size:
            raise RuntimeError(f"indexed {indexed} of {size}")
        calls = bot.telegram.rpc_log.count("channels.GetMessages") - calls_before
    gc.unfreeze()  # the harness is gone: its history may be collected now
    return {
        "seconds": seconds,
        "waited": waited,
        "forced": floods * FLOOD_SECONDS,  # what Telegram makes any client wait here
        "per_second": size / seconds,
        "extra_calls": calls - (1 + batches + floods),  # 1: Start's channel check
    }


async def run(size: int) -> str:
    free = await scenario(size, flood=False)
    limited = await scenario(size, flood=True)
    allowed = FLOOD_EVERY * 200 / FLOOD_SECONDS
    return "\n".join(
        [
            f"{size:,} channel posts (release names of the search benchmark's corpus) indexed",
            "through `/index` on the Telegram double: forward the last post, press ▶️ Start,",
            "until the job is done and every file is stored and searchable (release-name",
            "parser off: `ACCURATE_METADATA=false`; it runs afterwards in the background).",
            "The double's history is frozen out of the garbage collector before Start (it lives",
            "in this process; a real channel's does not).",
            "",
            "| Telegram | posts/s searchable | seconds |",
            "|---|---|---|",
            (
                f"| free (fetching costs nothing) | **{free['per_second']:,.0f}** | "
                f"{free['seconds']:.1f} |"
            ),
            "",
            (
                f"With a FloodWait of {FLOOD_SECONDS} s after every {FLOOD_EVERY} fetches "
                f"({allowed:,.0f} posts/s in the long run): this run's fetches cost "
                f"{limited['forced']:,.0f} s of waiting that no client can avoid, i.e. at most "
                f"{size / max(limited['forced'], 1):,.0f} posts/s; the job finished after "
                f"**{limited['waited']:,.0f} s** on Telegram's clock, "
                f"**{limited['forced'] / max(limited['waited'], 1):.0%}** of what the limit "
                f"allows, with {limited['extra_calls']} requests beyond one per batch and one "
                f"per FloodWait, and {limited['seconds']:.1f} s of processing (real time) besides."
            ),
            "",
            "Targets (#13): ≥ 1,000 posts/s searchable when fetching is free; ≥ 90 % of what",
            "Telegram's limit allows. Processing is faster than the limit here, so against",
            "Telegram the waits are the job's pace (the wait runs from Telegram's answer, while",
            "the batch before it is still being stored).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    body = asyncio.run(run(args.size))
    write_section(
        "backfill",
        "Channel history backfill (/index)",
        ".venv/bin/python -m bench.backfill",
        body,
    )


if __name__ == "__main__":
    main()

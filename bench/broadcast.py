"""`/broadcast` to 10,000 users on the Telegram double (issue #14), through the real app, with
Telegram's limits enforced by the double (30 messages/s overall, 1/s per chat) and FloodWaits
injected, next to the peers' pattern in the same run (`sleep(2)` after each user, the loop ends
at the first FloodWait: EvaMaria's `broadcast_messages`).

Time is the double's virtual clock: the rate is what Telegram would see. Duplicates and losses
are counted from what each user's chat received.

Run: `make bench` (or `.venv/bin/python -m bench.broadcast [--users N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from pyrogram.errors import FloodWait

from bench.report import write_section
from core.logging import configure_logging
from testkit import BotHarness

DEFAULT_USERS = 10_000
LIMIT = 30.0  # messages/s Telegram allows a bot overall
FLOODS = ((3_000, 30), (6_000, 45))  # (after this many sends, wait seconds): above 10 s
TEXT = "Weekly news"


async def _world(bot: BotHarness, users: int) -> list[int]:
    ids = list(range(10_000, 10_000 + users))
    for uid in ids:
        bot.user(uid, f"User{uid}")
        await bot.running.users.touch(uid, f"User{uid}", None, bot.clock.now())
    return ids


def _received(bot: BotHarness, uid: int) -> int:
    messages = bot.telegram.messages.get(uid, {}).values()
    return sum(1 for m in messages if m.parsed.text == TEXT)


async def ours(users: int) -> dict[str, float]:
    async with BotHarness(ADMINS="1", LOG_LEVEL="WARNING") as bot:
        bot.idle_timeout = 3_600
        ids = await _world(bot, users)
        admin = bot.user(1, "Admin")
        bot.telegram.enforce_rate_limits = True
        offer = (await admin.send(f"/broadcast users {TEXT}"))[-1]
        for after, seconds in FLOODS:
            bot.telegram.flood_wait("SendMessage", seconds, after=after)
        started_at = bot.clock.now()
        started = time.perf_counter()
        await admin.click(offer, "Send")
        jobs = bot.running.services.broadcasts
        while (job := (await jobs.recent(1))[0]).state not in ("done", "failed", "cancelled"):
            await bot.advance(5)
        elapsed = (job.updated_at - started_at).total_seconds()  # the job's own end
        counts = [_received(bot, uid) for uid in ids]
        waited = sum(s for after, s in FLOODS if after < users)
        return {
            "sent": sum(1 for c in counts if c),
            "duplicates": sum(c - 1 for c in counts if c > 1),
            "lost": counts.count(0),
            "elapsed": elapsed,
            "waited": waited,
            "rate": users / (elapsed - waited),
            "real": time.perf_counter() - started,
        }


async def peers(users: int) -> dict[str, float]:
    """The peers' loop on the same double: send, `sleep(2)`, stop at the first FloodWait."""
    async with BotHarness(ADMINS="1", LOG_LEVEL="WARNING") as bot:
        ids = await _world(bot, users)
        bot.telegram.enforce_rate_limits = True
        for after, seconds in FLOODS:
            bot.telegram.flood_wait("SendMessage", seconds, after=after)
        client = bot.running.client
        client.sleep_threshold = 0  # their FloodWait handler is `except FloodWait as e: sleep(e.x)`
        started = bot.clock.monotonic()
        for uid in ids:
            try:
                await client.send_message(uid, TEXT)
            except FloodWait:
                break  # `e.x` no longer exists in Pyrogram 2: the handler itself crashes
            bot.clock.advance(2)
        elapsed = bot.clock.monotonic() - started
        counts = [_received(bot, uid) for uid in ids]
        sent = sum(1 for c in counts if c)
        return {
            "sent": sent,
            "duplicates": sum(c - 1 for c in counts if c > 1),
            "lost": counts.count(0),
            "elapsed": elapsed,
            "rate": sent / elapsed if elapsed else 0.0,
        }


async def run(users: int) -> str:
    mine = await ours(users)
    theirs = await peers(users)
    floods = ", ".join(f"{s} s after {a:,} sends" for a, s in FLOODS if a < users)
    return "\n".join(
        [
            f"A broadcast to {users:,} users on the Telegram double with Telegram's limits",
            f"enforced (30 messages/s overall, 1/s per chat) and FloodWaits injected ({floods}).",
            "Rates are in the double's virtual time, i.e. what Telegram would see.",
            "",
            (
                "| | delivered | duplicates | lost | messages/s (FloodWaits excluded) "
                "| share of 30/s | virtual time |"
            ),
            "|---|---|---|---|---|---|---|",
            (
                f"| this bot (`/broadcast users`) | {mine['sent']:,.0f} | "
                f"{mine['duplicates']:,.0f} | {mine['lost']:,.0f} | **{mine['rate']:.1f}** | "
                f"**{mine['rate'] / LIMIT:.1%}** | {mine['elapsed']:,.0f} s |"
            ),
            (
                f"| peers (`sleep(2)` per user, stop at the first FloodWait) | "
                f"{theirs['sent']:,.0f} | {theirs['duplicates']:,.0f} | {theirs['lost']:,.0f} | "
                f"{theirs['rate']:.2f} | {theirs['rate'] / LIMIT:.1%} | "
                f"{theirs['elapsed']:,.0f} s |"
            ),
            "",
            f"Our run took {mine['real']:.1f} s of real time on this machine (the bot's own work",
            "per message, Pyrogram's parsing included). Target (#14): ≥ 95 % of Telegram's",
            "limit, 0 duplicates, 0 lost.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    body = asyncio.run(run(args.users))
    write_section("broadcast", "Broadcast", ".venv/bin/python -m bench.broadcast", body)


if __name__ == "__main__":
    main()

"""Updates per second through Pyrogram's real dispatcher: a trivial handler, bare vs wrapped in
our middleware (context binding, rate limit, error boundary). Same process, same updates.

Run: `make bench` (or `.venv/bin/python -m bench.middleware`).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from pyrogram import Client, filters, raw
from pyrogram.handlers import MessageHandler
from pyrogram.types import Message

from bench.report import write_section
from core.logging import configure_logging
from core.testing.clock import VirtualClock
from core.testing.harness import _TrackingQueue
from core.testing.telegram import DoubleClient, TelegramDouble, roundtrip
from core.utils.ratelimit import UserRateLimiter
from handlers.middleware import Middleware

UPDATES = 3_000
ROUNDS = 7
USERS = 500


async def on_message(_client: Client, _message: Message) -> None:
    """The trivial handler: the cost measured is the dispatch around it."""


def envelopes(double: TelegramDouble) -> list[Any]:
    batch = []
    for i in range(UPDATES):
        user = double.users[1_000 + i % USERS]
        message = raw.types.Message(
            id=i + 1,
            peer_id=raw.types.PeerUser(user_id=user.id),
            date=0,
            message=f"dark city {i}",
            from_id=raw.types.PeerUser(user_id=user.id),
        )
        update = raw.types.UpdateNewMessage(message=message, pts=i + 2, pts_count=1)
        batch.append(
            roundtrip(
                raw.types.Updates(updates=[update], users=[user.raw()], chats=[], date=0, seq=0)
            )
        )
    return batch


async def run(wrapped: bool) -> float:
    double = TelegramDouble(VirtualClock())
    for i in range(USERS):
        double.add_user(1_000 + i, f"User {i}")
    client = DoubleClient(double, workers=4)
    queue = _TrackingQueue()
    client.dispatcher.updates_queue = queue
    callback = on_message
    if wrapped:
        middleware = Middleware(
            admins=frozenset(),
            limiter=UserRateLimiter(per_minute=60_000, burst=10_000, clock=time.monotonic),
        )
        callback = middleware.wrap(on_message)
    client.add_handler(MessageHandler(callback, filters.private & filters.text))
    await client.start()
    batch = envelopes(double)
    try:
        started = time.perf_counter()
        for envelope in batch:
            await client.handle_updates(envelope)
        while not queue.idle:  # noqa: ASYNC110 - polling the dispatcher's own queue state
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - started
    finally:
        await client.stop()
    return UPDATES / elapsed


async def measure() -> tuple[list[float], list[float]]:
    bare: list[float] = []
    ours: list[float] = []
    for _ in range(ROUNDS):  # interleaved, so drift hits both alike
        bare.append(await run(wrapped=False))
        ours.append(await run(wrapped=True))
    return bare, ours


def main() -> None:
    configure_logging(level="WARNING")
    bare, ours = asyncio.run(measure())
    best_bare, best_ours = max(bare), max(ours)
    med_bare, med_ours = statistics.median(bare), statistics.median(ours)
    overhead = (best_bare / best_ours - 1) * 100
    body = f"""
{UPDATES:,} private text messages from {USERS} users through a real Pyrogram `Client` on the
Telegram double (4 workers), {ROUNDS} interleaved rounds; the handler does nothing, so what is
measured is Pyrogram's parsing and dispatch, plus our middleware in the second row.

| handler | best updates/s | median updates/s |
|---|---|---|
| bare | {best_bare:,.0f} | {med_bare:,.0f} |
| wrapped in `Middleware` | {best_ours:,.0f} | {med_ours:,.0f} |

Middleware overhead (best vs best): **{overhead:.1f}%** (goal: at most 15%).
"""
    write_section("middleware", "Update middleware", "make bench", body)


if __name__ == "__main__":
    main()

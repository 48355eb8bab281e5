"""The Telegram wrapper on a fake clock: FloodWait, retry caps, bucket rates, terminal errors."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import pytest
from pyrogram.errors import FloodWait, InputUserDeactivated, PeerIdInvalid, UserIsBlocked
from structlog.testing import capture_logs

from core.telegram.api_wrapper import RateLimits, TelegramAPI
from core.utils.errors import ErrorCode, FloodWaitError
from core.utils.ratelimit import TokenBucket
from testkit.clock import VirtualClock


def make_api(clock: VirtualClock, **limits: float) -> TelegramAPI:
    return TelegramAPI(
        limits=RateLimits(jitter=0.0, **limits),  # type: ignore[arg-type]
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(0),
    )


def scripted(*outcomes: object) -> Callable[[], Awaitable[object]]:
    """A Telegram request that raises or returns each outcome in turn."""
    remaining = list(outcomes)

    async def request() -> object:
        outcome = remaining.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return request


async def test_flood_waits_are_waited_out_then_retried() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock)
    with capture_logs() as logs:
        result = await api.call(
            "send_message", 5, scripted(FloodWait(value=3), FloodWait(value=7), "sent")
        )
    assert result.ok
    assert result.value == "sent"
    assert result.attempts == 3
    assert result.waited == 10
    assert [s for s in clock.sleeps if s >= 3] == [3, 7]
    assert api.stats.flood_waits == 2
    flood_events = [e for e in logs if e["event"] == "flood_wait"]
    assert [(e["method"], e["seconds"]) for e in flood_events] == [
        ("send_message", 3.0),
        ("send_message", 7.0),
    ]


async def test_waits_longer_than_pyrogram_sleep_threshold_are_handled() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock)
    result = await api.call("copy_message", 5, scripted(FloodWait(value=420), "ok"))
    assert result.ok
    assert 420 in clock.sleeps


async def test_jitter_adds_up_to_the_configured_fraction() -> None:
    clock = VirtualClock(autojump=True)
    api = TelegramAPI(
        limits=RateLimits(jitter=0.1), clock=clock, sleep=clock.sleep, rng=random.Random(1)
    )
    await api.call("send_message", 5, scripted(FloodWait(value=100), "ok"))
    flood_sleep = max(clock.sleeps)
    assert 100 <= flood_sleep <= 110


async def test_retry_cap_raises_flood_wait_error() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock, max_retries=2)
    with pytest.raises(FloodWaitError) as caught:
        await api.call("send_message", 5, scripted(*[FloodWait(value=1)] * 3))
    assert (caught.value.retry_after, caught.value.method) == (1.0, "send_message")


async def test_total_wait_cap_raises_without_sleeping_past_it() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock, max_total_wait=60)
    with pytest.raises(FloodWaitError):
        await api.call("send_message", 5, scripted(FloodWait(value=30), FloodWait(value=31)))
    assert sum(s for s in clock.sleeps if s >= 30) == 30


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UserIsBlocked(), ErrorCode.TELEGRAM_USER_BLOCKED),
        (InputUserDeactivated(), ErrorCode.TELEGRAM_USER_DEACTIVATED),
        (PeerIdInvalid(), ErrorCode.TELEGRAM_PEER_INVALID),
    ],
)
async def test_terminal_errors_are_values(error: Exception, code: ErrorCode) -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock)
    result = await api.call("send_message", 77, scripted(error))
    assert not result.ok
    assert result.error is code
    assert api.stats.terminal_errors == {code.value: 1}


async def test_other_errors_propagate() -> None:
    api = make_api(VirtualClock(autojump=True))
    with pytest.raises(RuntimeError):
        await api.call("send_message", 5, scripted(RuntimeError("bug")))


async def test_private_chats_get_one_message_per_second() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock)
    start = clock.monotonic()
    for _ in range(5):
        await api.call("send_message", 42, scripted("ok"))
    assert clock.monotonic() - start == pytest.approx(4.0)


async def test_groups_get_twenty_messages_per_minute() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock)
    start = clock.monotonic()
    for _ in range(21):
        await api.call("send_message", -1001234567890, scripted("ok"))
    assert clock.monotonic() - start == pytest.approx(60.0)


async def test_the_global_rate_bounds_a_broadcast() -> None:
    clock = VirtualClock(autojump=True)
    api = make_api(clock, global_per_second=25)
    start = clock.monotonic()
    for user_id in range(1, 256):  # 255 different private chats
        await api.call("send_message", user_id, scripted("ok"))
    elapsed = clock.monotonic() - start
    assert elapsed == pytest.approx((255 - 5) / 25)  # a burst of 5, then 25 per second


def test_token_bucket_refills_over_time() -> None:
    clock = VirtualClock(autojump=True)
    bucket = TokenBucket(rate=2, capacity=2, clock=clock)
    assert [bucket.reserve(), bucket.reserve()] == [0, 0]
    assert bucket.reserve() == pytest.approx(0.5)
    clock.advance(10)
    assert bucket.reserve() == 0

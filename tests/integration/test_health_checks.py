"""The health checks' own answers (`python bot.py --health-check` runs them, see test_cli.py)."""

from __future__ import annotations

import asyncio

from app.health import CheckStatus, run_health_checks
from repositories import ALL_INDEXES
from repositories.mongo import Database


async def test_a_telegram_that_never_answers_gives_the_reason_start_up_would_give(
    database: Database,
) -> None:
    """However the time runs out (a busy machine, a black-holed route), the probe's failure
    says it was Telegram that did not answer, as the bot's start-up says for the same wait."""

    async def never_answers() -> str:
        await asyncio.Event().wait()
        return "the bot"

    report = await run_health_checks(
        environment="development",
        database=database,
        indexes=ALL_INDEXES,
        telegram_probe=never_answers,
        telegram_skip_reason="",
        timeout=30,
        check_timeout=0.5,
    )
    telegram = {c.name: c for c in report.checks}["telegram"]
    assert telegram.status is CheckStatus.FAIL
    assert telegram.detail == "no network route to Telegram: the connection timed out after 0.5s"
    assert not report.healthy

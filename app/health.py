"""Health checks: configuration, database, indexes, schema, Telegram; each bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.logging import redactor
from core.utils.errors import TELEGRAM_CONNECTION_TIMED_OUT, AppError
from repositories.mongo import Database, IndexSpec

__all__ = ["CheckResult", "CheckStatus", "HealthReport", "run_health_checks"]

TelegramProbe = Callable[[], Awaitable[str]]
"""Connects to Telegram with the configured credentials and returns the bot's @username."""


class CheckStatus(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str
    duration_ms: int = 0


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        return all(c.status is not CheckStatus.FAIL for c in self.checks)

    @property
    def configuration_failed(self) -> bool:
        """The configuration itself is wrong (exit status 2, like the bot's own start)."""
        return any(c.name == "configuration" and c.status is CheckStatus.FAIL for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "checks": {
                c.name: {"status": c.status.value, "detail": c.detail, "duration_ms": c.duration_ms}
                for c in self.checks
            },
        }

    def to_table(self) -> str:
        width = max(len(c.name) for c in self.checks) if self.checks else 5
        lines = [f"{'CHECK':<{width}}  {'STATUS':<7}  {'TIME':>7}  DETAIL"]
        lines += [
            f"{c.name:<{width}}  {c.status.value:<7}  {c.duration_ms:>5}ms  {c.detail}"
            for c in self.checks
        ]
        lines.append("healthy" if self.healthy else "UNHEALTHY")
        return "\n".join(lines)


class _Budget:
    """The time left of the overall deadline, shared by the checks."""

    def __init__(self, total: float) -> None:
        self._deadline = time.monotonic() + total

    def left(self, cap: float) -> float:
        return max(0.05, min(cap, self._deadline - time.monotonic()))


async def _timed(
    name: str,
    budget: _Budget,
    cap: float,
    check: Callable[[], Awaitable[str]],
    *,
    timed_out: str = "timed out",
) -> CheckResult:
    """`timed_out`: what running out of time means for this check (the reason start-up would
    give for the same wait), followed by how long it waited."""
    started = time.monotonic()
    timeout = budget.left(cap)
    try:
        detail = await asyncio.wait_for(check(), timeout)
        status = CheckStatus.OK
    except TimeoutError:
        status, detail = CheckStatus.FAIL, f"{timed_out} after {timeout:.1f}s"
    except AppError as exc:
        status, detail = CheckStatus.FAIL, str(exc)
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure instead of crashing
        status, detail = CheckStatus.FAIL, f"{type(exc).__name__}: {exc}"
    elapsed = int((time.monotonic() - started) * 1000)
    return CheckResult(name, status, redactor.redact(detail), elapsed)


async def run_health_checks(
    *,
    environment: str,
    database: Database,
    indexes: Sequence[IndexSpec],
    telegram_probe: TelegramProbe | None,
    telegram_skip_reason: str,
    timeout: float,
    check_timeout: float = 10.0,
    configuration_problem: str = "",
) -> HealthReport:
    """Run every check within `timeout` seconds overall and `check_timeout` each.

    `configuration_problem`: why the bot could not run with this configuration (missing
    credentials); the other checks still run, so one report says everything.
    """
    budget = _Budget(timeout)
    if configuration_problem:
        config = CheckResult("configuration", CheckStatus.FAIL, configuration_problem)
    else:
        config = CheckResult("configuration", CheckStatus.OK, f"valid ({environment})")
    results = [config]

    async def check_database() -> str:
        await database.start(timeout=budget.left(timeout))
        await database.ping()
        where = (
            f"embedded, data in {database.data_dir / 'db'}" if database.is_embedded else "external"
        )
        return f"reachable ({where})"

    # The database may need to start the embedded server: give it most of the budget, not all.
    db_result = await _timed("database", budget, timeout * 0.7, check_database)
    results.append(db_result)

    async def check_indexes() -> str:
        await database.prepare(indexes)  # idempotent: what start-up does anyway
        missing = await database.missing_indexes(indexes)
        if missing:
            names = ", ".join(f"{m.collection}.{m.name}" for m in missing)
            raise AppError(f"missing: {names}")
        return f"{len(indexes)} present"

    async def check_schema() -> str:
        status = await database.schema_status()
        if not status.current:
            hint = (
                ": the bot migrates it when it starts"
                if status.found is not None and status.found < status.expected
                else ""
            )
            raise AppError(f"found v{status.found}, expected v{status.expected}{hint}")
        return f"v{status.found}"

    if db_result.status is CheckStatus.OK:
        results.append(await _timed("indexes", budget, check_timeout, check_indexes))
        results.append(await _timed("schema", budget, check_timeout, check_schema))
    else:
        results.extend(
            CheckResult(name, CheckStatus.SKIPPED, "database unreachable")
            for name in ("indexes", "schema")
        )

    if telegram_probe is None:
        results.append(CheckResult("telegram", CheckStatus.SKIPPED, telegram_skip_reason))
    else:
        probe = telegram_probe

        async def check_telegram() -> str:
            return f"authorised as {await probe()}"

        results.append(
            await _timed(
                "telegram",
                budget,
                check_timeout,
                check_telegram,
                timed_out=TELEGRAM_CONNECTION_TIMED_OUT,
            )
        )
    return HealthReport(tuple(results))

"""Operating the bot: `/health`, `/metrics`, `/cache/stats`, `/debug_last`, alerts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs

from core.utils.errors import AppError, InstanceRunningError
from testkit import BotHarness

REF = re.compile(r"ref: ([0-9a-f]{8})")
ALERTS = -1002288888888
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - a public address, as an operator may configure


async def _get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.text()


BOT = Path(__file__).resolve().parents[2] / "bot.py"


async def _probe(*args: str, **env: str) -> tuple[int, str, str]:
    """`python bot.py probe ...` beside the running bot (a process of its own, as a
    container's health check is): exit code, stdout, stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BOT),
        "probe",
        *args,
        env={**environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_container_health_check_asks_the_running_bot(mongo_uri: str) -> None:
    """`bot.py probe` (the Dockerfile's HEALTHCHECK) reads the running bot's /health: it opens
    no database, so it works beside a bot on the embedded database too."""
    async with BotHarness(database_uri=mongo_uri, http=True, DATABASE_TIMEOUT="1") as bot:
        port = bot.http_url.rsplit(":", 1)[1]
        code, out, err = await _probe(HTTP_PORT=port)  # the default URL, from HTTP_PORT
        assert (code, out.strip()) == (0, f"healthy: http://127.0.0.1:{port}/health"), err
        assert bot.database is not None
        await bot.database.refuse()
        code, out, err = await _probe(f"{bot.http_url}/health")
        assert code == 1
        assert err.strip() == (
            f"unhealthy: {bot.http_url}/health answered HTTP 503 (failing: database)"
        )
        await bot.database.restore()
    code, _, err = await _probe(HTTP_PORT=port)  # the bot has stopped
    assert code == 1
    assert err.strip() == f"unreachable: http://127.0.0.1:{port}/health: Connection refused"
    code, _, err = await _probe(HTTP_PORT="0")
    assert code == 1
    assert "the HTTP server is off (HTTP_PORT=0)" in err


async def test_health_turns_503_without_the_database_and_200_when_it_returns(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, http=True, DATABASE_TIMEOUT="1") as bot:
        status, body = await _get(f"{bot.http_url}/health")
        assert status == 200
        assert '"status": "healthy"' in body
        assert '"database": {"status": "ok"' in body
        assert '"telegram": {"status": "ok", "connected": true}' in body
        assert '"search_index": {"status": "ok", "lag": 0}' in body
        assert bot.database is not None
        await bot.database.refuse()
        status, body = await _get(f"{bot.http_url}/health")
        assert status == 503
        assert '"database": {"status": "fail"' in body
        await bot.database.restore()
        status, _ = await _get(f"{bot.http_url}/health")
        assert status == 200
        assert mongo_uri not in body  # no secret, no URI


async def test_metrics_count_searches_and_errors(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, http=True) as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        alice = bot.user(1001, "Alice")
        await alice.send("heat")
        assert bot.database is not None
        await bot.database.refuse()
        await alice.send("ronin")
        await bot.database.restore()
        status, text = await _get(f"{bot.http_url}/metrics")
        assert status == 200
        assert 'filesearch_requests_total{handler="on_private_text",outcome="ok"} 1.0' in text
        assert 'filesearch_requests_total{handler="on_private_text",outcome="error"} 1.0' in text
        assert 'filesearch_errors_total{code="storage"} 1.0' in text
        assert "filesearch_search_duration_seconds_count 1.0" in text
        assert 'filesearch_telegram_calls_total{method="messages.SendMessage"}' in text
        assert 'filesearch_cache_hits_total{cache="' in text
        assert "filesearch_request_duration_seconds_bucket" in text


async def test_cache_stats_needs_the_token_on_a_public_address(mongo_uri: str) -> None:
    async with BotHarness(
        database_uri=mongo_uri, http=True, HTTP_HOST=EVERY_INTERFACE, ADMIN_API_TOKEN="s3cret-token"
    ) as bot:
        url = bot.http_url.replace(EVERY_INTERFACE, "127.0.0.1")
        assert (await _get(f"{url}/cache/stats"))[0] == 401
        assert (await _get(f"{url}/cache/stats", token="wrong"))[0] == 401
        status, body = await _get(f"{url}/cache/stats", token="s3cret-token")
        assert status == 200
        assert '"hit_rate"' in body
        assert '"memory_bytes_estimate"' in body
        assert (await _get(f"{url}/health"))[0] == 200  # health and metrics stay open
        assert (await _get(f"{url}/metrics"))[0] == 200
    async with BotHarness(database_uri=mongo_uri, http=True) as local:
        status, _ = await _get(f"{local.http_url}/cache/stats")  # loopback: no token needed
        assert status == 200


async def test_debug_last_shows_the_failing_request_without_secrets(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1", ENABLE_DEBUG_CMD="true") as bot:
        admin = bot.user(1, "Admin")
        alice = bot.user(1001, "Alice")
        assert bot.database is not None
        await bot.database.refuse()
        reply = (await alice.send("my secret query"))[-1]
        await bot.database.restore()
        ref = REF.search(reply.text)
        assert ref is not None
        shown = (await admin.send(f"/debug_last {ref.group(1)}"))[-1].text
        assert shown.startswith(f"ref {ref.group(1)} · on_private_text · message")
        assert "error (storage)" in shown
        assert "✗" in shown  # the failed database call
        assert "secret" not in shown
        assert "/debug_last" in (await admin.send("/help"))[-1].text
        recent = (await admin.send("/debug_last 3"))[-1].text
        assert recent.startswith("The last 3 requests")
        assert "not allowed" in (await alice.send("/debug_last"))[-1].text


async def test_without_the_setting_there_is_no_debug_command(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    assert (await admin.send("/debug_last"))[-1].text == "Unknown command — see /help"
    assert "debug_last" not in (await admin.send("/help"))[-1].text


async def test_every_update_logs_its_duration(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    with capture_logs() as logs:
        await alice.send("heat")
    (line,) = [e for e in logs if e["event"] == "update_handled"]
    assert line["outcome"] == "ok"
    assert isinstance(line["duration_ms"], float)


async def test_the_same_error_twice_is_one_alert_and_a_flood_stays_under_the_cap(
    mongo_uri: str,
) -> None:
    bot = BotHarness(
        database_uri=mongo_uri, ADMINS="1", ALERT_CHAT=str(ALERTS), ALERTS_PER_HOUR="3"
    )
    alerts = bot.channel("Alerts", chat_id=ALERTS)
    async with bot:
        alice = bot.user(1001, "Alice")
        with bot.expect_errors():
            for _ in range(2):
                bot.telegram.fail("SendMessage", error=KeyError("boom"), chat_id=alice.id)
                await alice.send("heat")
        (alert,) = alerts.messages
        assert alert.text.startswith("🚨 Unhandled error: KeyError \u00d72")  # x2
        assert REF.search(alert.text)
        assert "docs/RUNBOOK.md#unhandled-error" in alert.text
        with bot.expect_errors():
            for error in (ValueError, TypeError, LookupError, ArithmeticError, RuntimeError):
                bot.telegram.fail("SendMessage", error=error("boom"), chat_id=alice.id)
                await alice.send("heat")
        assert len(alerts.messages) == 3  # the hourly cap
        await bot.advance(3600)
        summary = alerts.messages[-1].text
        assert summary.startswith("🚨 3 more alerts in the last hour were not sent")


TOKEN = "123456:" + "A" * 35


async def test_a_second_instance_with_the_same_token_refuses_and_force_restart_takes_over(
    mongo_uri: str,
) -> None:
    async with BotHarness(database_uri=mongo_uri, BOT_TOKEN=TOKEN) as first:
        second = BotHarness.beside(first, BOT_TOKEN=TOKEN)
        with pytest.raises(InstanceRunningError) as refused:
            await second.start()
        await second.stop()
        assert "another instance is running this bot" in str(refused.value)
        assert "--force-restart" in str(refused.value)
        other_token = BotHarness.beside(first, BOT_TOKEN="654321:" + "B" * 35)
        async with other_token:  # another bot on the same database is fine
            pass
        taker = BotHarness.beside(first, force_restart=True, BOT_TOKEN=TOKEN)
        async with taker:
            lease = first.running.lease
            assert lease is not None
            with capture_logs() as logs:
                await first.advance(30)  # the first process renews its lease: it was taken
            assert lease.lost.is_set()
            assert any(e["event"] == "instance_replaced" for e in logs)
            assert await first.running.wait_until_stopped(asyncio.Event())


async def test_flags_switch_features_for_users_and_persist(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    alice = bot.user(1001, "Alice")
    movies = bot.channel("Movies")
    for name in ("Heat.1995.mkv", "Heat.1995.720p.mkv", "Heat.1995.2160p.mkv"):
        await movies.post_video(name)
    listing = (await admin.send("/flags"))[-1].text
    assert "typo_tolerance — on · 100 % · admins, premium, free · private, group, inline" in listing
    assert (await alice.send("haet"))[-1].button("Heat 1995")  # a typo still finds it
    assert "📥 Send all 3" in [b.text for b in (await alice.send("heat"))[-1].all_buttons]
    assert (await admin.send("/flag typo_tolerance off"))[-1].text.startswith(
        "🚩 typo_tolerance: off"
    )
    await admin.send("/flag send_all groups=admins")
    await bot.restart()
    assert "Heat" not in (await alice.send("haet"))[-1].text  # no typo matches any more
    labels = [b.text for b in (await alice.send("heat"))[-1].all_buttons]
    assert not any("Send all" in label for label in labels)
    admin_labels = [b.text for b in (await admin.send("heat"))[-1].all_buttons]
    assert "📥 Send all 3" in admin_labels
    bad = (await admin.send("/flag send_all sometimes"))[-1].text
    assert bad.startswith("'sometimes': use on, off or a percentage like 10%")
    assert (await admin.send("/flag nosuch on"))[-1].text.startswith("Usage: /flag")


async def test_a_taken_http_port_is_a_clear_startup_error(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, http=True) as first:
        port = first.http_url.rsplit(":", 1)[1]
        second = BotHarness(database_uri=mongo_uri, HTTP_PORT=port, HTTP_HOST="127.0.0.1")
        with pytest.raises(AppError, match=f"cannot listen on 127.0.0.1:{port}"):
            await second.start()
        await second.stop()


async def test_health_and_metrics_show_each_supervised_background_task(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, http=True) as bot:
        await bot.advance(61)  # every periodic task has run at least once
        status, body = await _get(f"{bot.http_url}/health")
        assert status == 200
        background = json.loads(body)["checks"]["background"]
        assert background["status"] == "ok"
        assert background["failing"] == []
        tasks = background["tasks"]
        assert set(tasks) == {
            "cache_cleanup",
            "auto_delete",
            "premium_reminders",
            "search_index_catch_up",
            "search_tombstone_purge",
            "flags_refresh",
            "activity_flush",
            "monitor",
            "metadata",
            "index_jobs",
            "broadcasts",
            "batch_deliveries",
        }
        assert tasks["auto_delete"]["runs"] >= 2  # at start, and 30 s later
        assert tasks["auto_delete"]["last_error"] is None
        assert tasks["index_jobs"]["kind"] == "worker"
        _, metrics = await _get(f"{bot.http_url}/metrics")
        assert 'filesearch_background_runs_total{outcome="ok",task="auto_delete"}' in metrics
        assert 'filesearch_background_last_run_timestamp_seconds{task="monitor"}' in metrics

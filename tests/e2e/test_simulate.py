"""`python bot.py simulate` driven through piped stdin, as the README shows."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from core.config import load_settings
from testkit.simulate import run_simulation
from tests.conftest import SETTING_NAMES
from tests.e2e.test_cli import BOT, run_bot


def test_simulate_runs_the_bot_without_a_token(tmp_path: Path) -> None:
    script = "/start\n:click 2\ncity dark\n:click 1\n:as admin\n/stats\n:advance 10m\n:quit\n"
    result = run_bot(tmp_path, "simulate", input_text=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "10 sample files posted to 'Movies'" in out
    assert "[bot] 👋 Hi Alice!" in out
    assert "[1] 🔍 Search inline  [2] ❓ Help  [3] \N{HEAVY PLUS SIGN} Add me to a group" in out
    assert "[edited] How to search" in out
    assert "[bot] 🔎 1 file for city dark" in out  # the samples were indexed at start
    assert "[bot] [video: Dark.City.1998.Directors.Cut.720p.BluRay.x264-AMIABLE.mkv]" in out
    assert "(now typing as admin" in out
    assert "Users: 2" in out  # Alice, and the admin asking
    assert "Database: embedded" in out
    assert "(virtual time is now 2026-01-01 12:10:00 UTC)" in out
    assert "Traceback" not in result.stderr


def test_simulate_ends_cleanly_at_end_of_input(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "simulate", input_text="/help\n")
    assert result.returncode == 0, result.stderr
    assert "How to search" in result.stdout


def test_simulate_has_a_group_whose_buttons_deliver_in_private(tmp_path: Path) -> None:
    script = ":group hello\n:group city dark\n:click 1\n:quit\n"
    result = run_bot(tmp_path, "simulate", input_text=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "(the group stays quiet)" in out  # "hello" matches nothing
    assert "[bot] 🔎 1 file for city dark" in out
    assert "(following https://t.me/FileSearchBot?start=f_" in out
    assert "[bot] [video: Dark.City.1998.Directors.Cut.720p.BluRay.x264-AMIABLE.mkv]" in out


def test_simulate_reads_the_bots_settings_and_makes_the_chats_they_name(tmp_path: Path) -> None:
    script = "dark city\n:click 1\n:join\n:click 2\n:as admin\n/help\n:quit\n"
    result = run_bot(
        tmp_path,
        "simulate",
        input_text=script,
        AUTH_CHANNELS="@filmnews",
        CHANNELS="-1001234567890",
        AUTO_DELETE_MINUTES="5",
        PROTECT_CONTENT="true",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "10 sample files posted to 'Channel 1'" in out  # the channel CHANNELS names
    assert "🔒 Join first" in out  # AUTH_CHANNELS is enforced
    assert "(joined filmnews)" in out
    assert "[video, protected: Dark.City.1998" in out  # PROTECT_CONTENT
    assert "This file will be deleted in 5 minutes" in out  # AUTO_DELETE_MINUTES
    assert "admin_commands_not_set" not in result.stderr
    assert "Traceback" not in result.stderr


def test_premium_only_applies_in_the_simulator(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "simulate", input_text=":inline dark\n", PREMIUM_ONLY="true")
    assert result.returncode == 0, result.stderr
    assert "[inline] button: Premium only" in result.stdout


def test_click_after_inline_does_not_press_an_older_message(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "simulate", input_text="/start\n:inline dark\n:click 2\n")
    assert result.returncode == 0, result.stderr
    assert "(no such button)" in result.stdout
    assert "[edited] How to search" not in result.stdout


def test_ctrl_c_leaves_cleanly(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    environ["DATA_DIR"] = str(tmp_path / "data")
    with subprocess.Popen(
        [sys.executable, str(BOT), "simulate"],
        cwd=tmp_path,
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Simulated @FileSearchBot")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr


async def test_typed_sessions_follow_the_wall_clock(mongo_uri: str) -> None:
    """Ten searches typed 2.5 s apart stay within the rate limit, as they would live."""
    wall = iter(float(t) for t in range(0, 1000, 5))  # each reading 5 s after the last
    lines = "".join(f"dark city {i}\n" for i in range(10))
    out = io.StringIO()
    settings = load_settings(database_uri=mongo_uri, rate_limit_burst=3, rate_limit_per_minute=12)
    code = await run_simulation(
        settings, io.StringIO(lines), out, real_time=True, wall_clock=lambda: next(wall)
    )
    assert code == 0
    assert "too fast" not in out.getvalue()
    piped = io.StringIO()
    await run_simulation(settings, io.StringIO(lines), piped, real_time=False)
    assert "too fast" in piped.getvalue()  # a script runs on virtual time: all at once


def test_the_cache_table_stays_aligned_with_long_cache_names(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "simulate", input_text="dark city\n:as admin\n/cache\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("[bot] Caches\n", 1)[1].splitlines()
    table = [line.strip() for line in lines if line.startswith("      ") and line.strip()]
    assert table[0].split()[:2] == ["cache", "size/max"]
    assert any(row.startswith("search_results") for row in table)
    # After the (left-aligned) names, every column ends where its header ends.
    header_ends = [m.end() for m in re.finditer(r"\S+", table[0])][1:]
    for row in table[1:]:
        assert [m.end() for m in re.finditer(r"\S+", row)][1:] == header_ends, row


def test_simulate_shows_what_the_bot_sends_on_its_own_and_replies_forwards_and_files(
    tmp_path: Path,
) -> None:
    script = (
        "/start\n:as admin\ndark city\n:click 1\n:reply /link free\n:forward Movies\n"
        ':file "Heat.1995.mkv" 700M\n:inline daft #audio\n'
        "/broadcast users Friday: new films\n:click 1\n:advance 2m\n:quit\n"
    )
    result = run_bot(tmp_path, "simulate", input_text=script, AUTO_DELETE_MINUTES="1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[bot] 🔗 Link to Dark.City.1998" in out  # /link as a reply to the delivered file
    assert "[bot] Index Movies" in out  # a forwarded post offers to index its channel
    assert "/addfile on" in out  # a file sent to the bot
    assert "[inline 1] Daft.Punk.-.Random.Access.Memories.2013.320kbps.mp3" in out
    assert "[bot → Alice] Friday: new films" in out  # the broadcast's copy to another user
    assert "(the bot deleted a message to Admin: Dark.City.1998" in out  # auto-delete
    assert "[bot → Admin] 🗑 The file was deleted as announced." in out
    assert "Traceback" not in result.stderr


async def test_simulate_serves_health_and_metrics_when_asked(mongo_uri: str) -> None:
    """HTTP_PORT set (as for the bot): the simulated bot's /health answers while it runs."""
    port = _free_port()
    answers: list[int] = []

    class Script(io.StringIO):
        def readline(self, size: int | None = -1) -> str:
            if not answers:  # asked on the reading thread while the bot serves
                url = f"http://127.0.0.1:{port}/health"
                with urllib.request.urlopen(url, timeout=30) as response:
                    answers.append(response.status)
                return "/start\n"
            return ""

    out = io.StringIO()
    settings = load_settings(database_uri=mongo_uri, http_port=port)
    assert await run_simulation(settings, Script(), out, real_time=False) == 0
    assert f"(serving /health and /metrics at http://127.0.0.1:{port})" in out.getvalue()
    assert answers == [200]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

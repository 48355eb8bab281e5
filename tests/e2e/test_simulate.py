"""`python bot.py simulate` driven through piped stdin, as the README shows."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run_bot


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

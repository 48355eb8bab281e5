"""A hung test fails within its time limit and says which `await` hung.

pytest-timeout (pinned in requirements.lock; the limit is `timeout` in pyproject.toml) arms a
SIGALRM per test. Its own handler dumps the threads other than the main one, where the event
loop sits in `select()` whatever the test awaits; this one dumps every task of the running event
loop with the line it waits on, then every thread, then fails the test. pytest-timeout stops its
timer when a test fails, which would leave the teardown of a failed test unguarded: the teardown
gets `GRACE` seconds, after which the stacks are dumped again and the run ends (exit 1), so
`make test` can never wait forever.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Any

import pytest

__all__ = ["GRACE", "dump_everything"]

GRACE = 60.0  # seconds a timed-out test's teardown may take before the run is ended


def dump_everything() -> str:
    """The event loop's tasks (each with its awaiting stack) and every thread's stack."""
    out = io.StringIO()
    loop = asyncio._get_running_loop()  # the signal handler runs inside the loop's select()
    if loop is not None:
        tasks = sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())
        out.write(f"=== {len(tasks)} asyncio task(s) of the running event loop ===\n")
        for task in tasks:
            out.write(f"--- {task!r}\n")
            task.print_stack(limit=30, file=out)
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        out.write(f"=== thread {names.get(ident, '<unknown>')} ({ident}) ===\n")
        out.write("".join(traceback.format_stack(frame)))
    return out.getvalue()


def _arm(handler: Any, seconds: float) -> None:
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own thread method
    writer = item.config.get_terminal_writer()

    capture = item.config.pluginmanager.getplugin("capturemanager")

    def report(title: str) -> None:
        """To the terminal itself: the test's captured output may never be shown."""
        if capture is not None:
            capture.suspend_global_capture(in_=True)
        try:
            writer.line()
            writer.sep("+", title=f"{title}: {item.nodeid}")
            writer.write(dump_everything())
            writer.sep("+", title=title)
            writer.flush()
        finally:
            if capture is not None:
                capture.resume_global_capture()

    def ended(signum: int, frame: FrameType | None) -> None:
        report(f"The test's teardown still runs {GRACE:.0f} s after it failed; ending the run")
        os._exit(1)

    def timed_out(signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        report(f"Timeout after {settings.timeout} s")
        _arm(ended, GRACE)
        pytest.fail(f"Timeout: the test took more than {settings.timeout} s (stacks above)")

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # read by pytest-timeout
    item.stash[_TEARDOWN_GUARD] = lambda: _arm(ended, GRACE)
    _arm(timed_out, settings.timeout)
    return True


_TEARDOWN_GUARD = pytest.StashKey[Any]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Any:
    """A failed test's timer was stopped (pytest-timeout does so when a test fails): its
    teardown gets `GRACE` seconds."""
    guard = item.stash.get(_TEARDOWN_GUARD, None)
    if guard is not None and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
        guard()
    return (yield)

"""Writes one benchmark's markdown section into docs/PERFORMANCE.md, replacing its last run."""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"


def machine() -> str:
    return (
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_section(name: str, title: str, command: str, body: str) -> None:
    """Replace the `name` section (between markers) or append it; print it too."""
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command}` — {machine()}\n\n{body.strip()}\n<!-- /bench:{name} -->"
    )
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    DOC.write_text(text)
    sys.stdout.write(section + "\n")

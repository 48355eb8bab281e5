"""What import-linter cannot check (it reads packages): `bot.py`, the command line, sits above
every package, so none of them imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("testkit", "app", "handlers", "services", "repositories", "core")


def test_no_package_imports_the_command_line() -> None:
    importers = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                if any(name == "bot" or name.startswith("bot.") for name in names):
                    importers.append(str(path.relative_to(ROOT)))
    assert importers == []
    assert len(list((ROOT / "core").rglob("*.py"))) > 10  # the walk saw the packages

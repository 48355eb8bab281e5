"""Nothing promised that does not exist: every file of this repository, and every test, that
the README, the CHANGELOG or docs/ cite is there (a clone can open it), and every relative
link between them resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
_TOP = "tests|bench|core|app|handlers|repositories|deploy|docs|bot\\.py"
# A path of this repository as the documents write it: `tests/e2e/test_x.py::test_name`,
# `core/config.py`, `deploy/prometheus/alerts.yml` (not `/app/data`, an absolute path).
CITED = re.compile(rf"(?<![\w/.-])((?:{_TOP})(?:/[\w.-]+)*)(?:::(\w+))?")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def cited() -> list[tuple[Path, str, str | None]]:
    found = []
    for document in DOCUMENTS:
        for match in CITED.finditer(document.read_text("utf-8")):
            path, name = match.group(1).rstrip("."), match.group(2)
            found.append((document, path, name))
    return found


def test_every_cited_path_and_test_exists() -> None:
    problems = []
    for document, path, name in cited():
        target = ROOT / path
        if not target.exists():
            problems.append(f"{document.name}: {path} does not exist")
        elif name is not None and not re.search(
            rf"\bdef {name}\b|\bclass {name}\b", target.read_text("utf-8")
        ):
            problems.append(f"{document.name}: {path} has no {name}")
    assert problems == []
    assert len(cited()) > 50  # the pattern finds the documents' citations


def test_every_relative_link_resolves() -> None:
    problems = []
    for document in DOCUMENTS:
        for match in LINK.finditer(document.read_text("utf-8")):
            link = match.group(1)
            if "://" in link or link.startswith("mailto:"):
                continue
            if not (document.parent / link).exists():
                problems.append(f"{document.relative_to(ROOT)}: ({link})")
    assert problems == []

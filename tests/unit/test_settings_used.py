"""No setting that does nothing: every `Settings` field is read somewhere outside
`core/config.py`, and docs/CONFIGURATION.md documents exactly the settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "bot.py", *(ROOT / d for d in ("app", "core", "handlers", "repositories"))]
# Fields whose effect comes through something `core/config.py` derives from them, which is
# read elsewhere in turn.
THROUGH = {
    "port": "http_port",  # PORT replaces the default HTTP_PORT (`_platform_port`)
}


def _code() -> str:
    files: list[Path] = []
    for source in SOURCES:
        files += [source] if source.is_file() else sorted(source.rglob("*.py"))
    return "\n".join(f.read_text("utf-8") for f in files if f != ROOT / "core" / "config.py")


def test_every_setting_is_read_outside_the_settings_module() -> None:
    code = _code()
    unread = [
        name
        for name in Settings.model_fields
        if not re.search(rf"\.{THROUGH.get(name, name)}\b", code)
    ]
    assert unread == [], f"settings nobody reads: {unread}"


def test_the_configuration_guide_documents_every_setting_and_no_other() -> None:
    guide = (ROOT / "docs" / "CONFIGURATION.md").read_text("utf-8")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", guide, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(fields - documented) == []
    assert sorted(documented - fields) == []

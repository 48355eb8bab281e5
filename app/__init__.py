"""The composition root: `build_app` wires settings → database → repositories → services →
handlers; `App` starts and stops what it wired. `bot.py` (the command line) and the test harness
both build the bot here, so what is tested is what runs."""

from __future__ import annotations

from app.build import App, build_app, build_database, build_telegram_client
from app.commands import ImportSourceError, import_files, migrate_database, rebuild_search_index

__all__ = [
    "App",
    "ImportSourceError",
    "build_app",
    "build_database",
    "build_telegram_client",
    "import_files",
    "migrate_database",
    "rebuild_search_index",
]

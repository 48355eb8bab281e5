"""Texts and keyboards of a group's `/settings` panel, the "results in private chat" link and
the welcome message; all user text is HTML-escaped here."""

from __future__ import annotations

from collections.abc import Sequence

from pyrogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbacks import Encode
from handlers.views import escape
from services.groups import GroupSettings
from services.search import SearchPage

__all__ = [
    "SETTINGS_ADMINS_ONLY",
    "group_settings_keyboard",
    "group_settings_text",
    "results_link_keyboard",
    "results_link_text",
    "welcome_text",
]

SETTINGS_ADMINS_ONLY = "Only this group's admins can change its settings."


def group_settings_text(title: str) -> str:
    return (
        f"⚙️ <b>Settings of {escape(title)}</b>\n"
        "Tap a button to change it (this group's admins only)."
    )


def _on(value: bool) -> str:
    return "on" if value else "off"


def group_settings_keyboard(settings: GroupSettings, encode: Encode) -> InlineKeyboardMarkup:
    results = "buttons here" if settings.results == "buttons" else "link to private chat"
    delete = f"after {settings.autodelete} min" if settings.autodelete else "never"
    rows = [
        (f"🔎 Auto-filter: {_on(settings.autofilter)}", "autofilter"),
        (f"📋 Results: {results}", "results"),
        (f"🗑 Delete results: {delete}", "autodelete"),
        (f"💡 Did you mean: {_on(settings.suggest)}", "suggest"),
        (f"👋 Welcome new members: {_on(settings.welcome)}", "welcome"),
    ]
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=encode("gs", key))] for label, key in rows]
    )


def results_link_text(page: SearchPage) -> str:
    return f"🔎 {page.total_label} files for “{escape(page.text)}”."


def results_link_keyboard(url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("📋 See them in private chat", url=url)]])


def welcome_text(names: Sequence[str], bot_username: str) -> str:
    who = ", ".join(escape(n) for n in names if n) or "there"
    return (
        f"👋 Welcome, {who}! Write a title here and I will find it, or search privately "
        f"with @{escape(bot_username)}."
    )

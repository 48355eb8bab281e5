"""Small helpers several handler modules share."""

from __future__ import annotations

from pyrogram import Client

__all__ = ["bot_username"]


def bot_username(client: Client) -> str:
    """The bot's @username (without @), known once the client has started."""
    return client.me.username if client.me and client.me.username else "bot"

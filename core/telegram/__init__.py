"""Telegram-facing helpers that may import Pyrogram."""

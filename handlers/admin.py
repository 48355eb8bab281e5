"""Admin commands: statistics and cache metrics."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import Message

from core.cache.enhanced_cache import get_all_cache_stats
from core.services import Services
from handlers import views
from handlers.middleware import Callback

__all__ = ["make_on_cache", "make_on_stats"]


def make_on_stats(services: Services) -> Callback:
    async def on_stats(_client: Client, message: Message) -> None:
        await message.reply_text(views.admin_stats_text(await services.stats.snapshot()))

    return services.guards.admin_only(on_stats)


def make_on_cache(services: Services) -> Callback:
    async def on_cache(_client: Client, message: Message) -> None:
        await message.reply_text(views.cache_stats_text(get_all_cache_stats()))

    return services.guards.admin_only(on_cache)

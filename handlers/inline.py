"""Inline mode: `@bot title` in any chat answers with the files themselves.

An inline pick posts the file straight into the user's chat, so every check happens here, before
answering, with the same rules as private chat: banned users (refused by the middleware) and
users who have not joined the force-subscribe channels get no results and a "switch to PM"
button carrying the error's reference; files behind a premium gate are left out for users
without premium (with a button explaining premium).

Telegram may serve a cached answer to anyone who types the same query within `cache_time`, so an
answer is shared (not personal) only when it cannot reach someone who must be refused: nothing is
gated, no result has its own gate, and nobody is banned. Otherwise results are personal and
cached briefly.

With PROTECT_CONTENT=true a posted file could be forwarded freely, so results are then cards with
a button that delivers the protected file in private chat instead.

Each result is written in Telegram's wire form once (its caption's HTML parsed into entities, its
file id decoded) and kept, by everything it shows (the stored file, the caption template, the
protection, the bot's name), in the `inline_results` cache: popular files are answered again and
again, and writing 50 results was the largest part of an inline answer's cost. An edited file is
a different key, so a kept result never shows what the file no longer is.
"""

from __future__ import annotations

from pyrogram import Client, raw
from pyrogram.file_id import FileId, FileType
from pyrogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResult,
    InlineQueryResultArticle,
    InlineQueryResultCachedAudio,
    InlineQueryResultCachedDocument,
    InlineQueryResultCachedVideo,
    InputTextMessageContent,
)

from core.cache.enhanced_cache import EnhancedCache
from core.models import FileRecord
from core.utils.errors import SubscriptionRequiredError
from core.utils.guards import Reason
from core.utils.validators import Validators
from handlers import views
from handlers.common import bot_username
from handlers.middleware import Callback
from services.delivery import DeliveryService
from services.flags import FlagService
from services.search import SearchService
from services.subscription import SubscriptionService
from services.users import UserService

__all__ = [
    "PAGE_SIZE",
    "PERSONAL_CACHE_SECONDS",
    "SHARED_CACHE_SECONDS",
    "WRITTEN_RESULTS",
    "make_on_inline",
]

PAGE_SIZE = 50  # Telegram's limit per answer
SHARED_CACHE_SECONDS = 300
PERSONAL_CACHE_SECONDS = 10
WRITTEN_RESULTS = 5_000  # results kept written (`inline_results`), ~1 KB each

_Shown = tuple[FileRecord, str, bool, str]  # the file, caption template, protection, bot's name


def make_on_inline(
    *,
    delivery: DeliveryService,
    flags: FlagService,
    search: SearchService,
    subscription: SubscriptionService,
    users: UserService,
) -> Callback:
    written: EnhancedCache[_Shown, raw.base.InputBotInlineResult] = EnhancedCache(
        "inline_results", maxsize=WRITTEN_RESULTS
    )

    async def write(client: Client, record: FileRecord) -> InlineQueryResult:
        shown = delivery.delivery_of(record)
        username = bot_username(client)
        key = (record, shown.caption_template, shown.protect_content, username)
        result = written.get(key)
        if result is None:
            result = await _result(delivery, record, username).write(client)
            written.set(key, result)
        return _Written(result)

    async def on_inline(client: Client, query: InlineQuery) -> None:
        user_id = query.from_user.id
        access = await delivery.decide(user_id)
        premium_refused = access.reason is Reason.PREMIUM_REQUIRED
        if premium_refused and await subscription.missing(user_id):
            # Free files may still be shown, but only to subscribers.
            raise SubscriptionRequiredError  # the middleware: a button with the reference
        if access.reason in {Reason.BANNED, Reason.JOIN_FIRST}:
            raise access.error() or SubscriptionRequiredError()  # the middleware answers
        checked = Validators.search_query(query.query)
        if not checked.ok or checked.value is None:  # typing has just started, or nonsense
            await query.answer(
                [],
                cache_time=PERSONAL_CACHE_SECONDS,
                is_personal=True,
                switch_pm_text=views.INLINE_SWITCH_SEARCH,
                switch_pm_parameter="start",
            )
            return
        number = Validators.page_number(query.offset)
        page = await search.search(
            checked.value,
            page=number,
            page_size=PAGE_SIZE,
            prefix=True,
            typos=await flags.enabled("typo_tolerance", user_id, "inline"),
        )
        stored = await search.records(page.items)
        records = await delivery.visible(user_id, stored)
        personal = delivery.gated or any(r.premium for r in stored) or await users.any_banned()
        premium_hint = premium_refused or len(records) < len(stored)
        await query.answer(
            [await write(client, r) for r in records],
            cache_time=PERSONAL_CACHE_SECONDS if personal else SHARED_CACHE_SECONDS,
            is_personal=personal,
            next_offset=str(number + 1) if number < page.pages else "",
            switch_pm_text=views.INLINE_SWITCH_PREMIUM if premium_hint else "",
            switch_pm_parameter="premium" if premium_hint else "",
        )

    return on_inline


class _Written(InlineQueryResult):
    """A result already in Telegram's wire form (see the module's docstring)."""

    def __init__(self, written: raw.base.InputBotInlineResult) -> None:
        super().__init__("", written.id, None, None)  # type: ignore[arg-type]  # not sent
        self._written = written

    async def write(self, client: Client) -> raw.base.InputBotInlineResult:
        return self._written


def _result(delivery: DeliveryService, record: FileRecord, username: str) -> InlineQueryResult:
    title = views.inline_title(record)
    description = views.inline_description(record)
    shown = delivery.delivery_of(record)
    if shown.protect_content:
        link = views.deep_link(username, views.file_payload(record.id))
        return InlineQueryResultArticle(
            title=title,
            id=record.id,
            description=description,
            input_message_content=InputTextMessageContent(views.protected_inline_text(record)),
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("📥 Get file", url=link)]]),
        )
    caption = views.render_caption(shown.caption_template, record)
    kind = FileId.decode(record.file_id).file_type
    if kind is FileType.VIDEO:
        return InlineQueryResultCachedVideo(
            record.file_id, title, id=record.id, description=description, caption=caption
        )
    if kind is FileType.AUDIO:
        return InlineQueryResultCachedAudio(record.file_id, id=record.id, caption=caption)
    return InlineQueryResultCachedDocument(
        record.file_id, title, id=record.id, description=description, caption=caption
    )

"""Admin commands: statistics, cache metrics, the users and chats as CSV, and `/leave`."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pyrogram import Client
from pyrogram.types import CallbackQuery, Message

from core.cache.enhanced_cache import get_all_cache_stats
from core.flags import FLAGS, GROUPS, KINDS, Flag, apply
from core.logging import get_logger
from core.search.query import parse_query
from core.traces import TraceStore
from core.utils.validators import Validators
from handlers import log_views, views
from handlers import member_views as mv
from handlers.callbacks import STALE_BUTTON, CallbackRoute
from handlers.common import audit
from handlers.middleware import Callback
from services.callbacks import CallbackCodec
from services.flags import FlagService
from services.groups import GroupService
from services.indexing import IndexingService
from services.log_channel import LogChannel
from services.search import SearchService
from services.stats import StatsService
from services.users import UserService

__all__ = [
    "make_on_cache",
    "make_on_chats",
    "make_on_debug_last",
    "make_on_delete",
    "make_on_delete_button",
    "make_on_deleteall",
    "make_on_flag",
    "make_on_flags",
    "make_on_leave",
    "make_on_stats",
    "make_on_users",
]

log = get_logger(__name__)
MAX_COUNT_DIGITS = 3  # `/debug_last 20`: a count; eight digits are a reference

Row = TypeVar("Row")


def make_on_stats(*, stats: StatsService) -> Callback:
    async def on_stats(_client: Client, message: Message) -> None:
        await message.reply_text(views.admin_stats_text(await stats.snapshot()))

    return on_stats


def make_on_cache() -> Callback:
    async def on_cache(_client: Client, message: Message) -> None:
        await message.reply_text(views.cache_stats_text(get_all_cache_stats()))

    return on_cache


async def _send_csv(
    message: Message,
    name: str,
    header: Sequence[str],
    rows: AsyncIterator[Row],
    render: Callable[[Row], Sequence[object]],
) -> None:
    """Write `rows` to a CSV file on disk (a million users never sit in memory) and send it."""
    with tempfile.TemporaryDirectory(prefix="filesearch-export-") as tmp:
        path = Path(tmp) / name
        count = 0
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            async for row in rows:
                writer.writerow(render(row))
                count += 1
        await message.reply_document(str(path), caption=mv.export_caption(name, count))


def make_on_users(*, users: UserService) -> Callback:
    """`/users`: every user as CSV."""

    async def on_users(_client: Client, message: Message) -> None:
        await users.flush()  # the searches and downloads counted until now
        await _send_csv(message, "users.csv", mv.USERS_CSV_HEADER, users.all_users(), mv.user_row)

    return on_users


def make_on_chats(*, groups: GroupService) -> Callback:
    """`/chats`: every group (and channel) the bot was in, as CSV."""

    async def on_chats(_client: Client, message: Message) -> None:
        await _send_csv(message, "chats.csv", mv.CHATS_CSV_HEADER, groups.all_chats(), mv.chat_row)

    return on_chats


def make_on_leave(*, groups: GroupService, log_channel: LogChannel) -> Callback:
    """`/leave <chat id>`: the bot leaves a group or channel (ids are in /chats)."""

    async def on_leave(client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        checked = Validators.chat_id(args[0]) if len(args) == 1 else None
        if checked is None or not checked.ok or checked.value is None or checked.value > 0:
            await message.reply_text(mv.LEAVE_USAGE)
            return
        chat_id = checked.value
        await client.leave_chat(chat_id)
        record = await groups.get(chat_id)
        await groups.left(chat_id)
        title = record.title if record is not None and record.title else str(chat_id)
        await message.reply_text(f"👋 I left {mv.escape(title)}.")
        audit(log_channel, message.from_user, log_views.log_left_group(title, chat_id))

    return on_leave


def make_on_delete(*, callbacks: CallbackCodec, search: SearchService) -> Callback:
    """`/delete <query>`: the files matching every word as written; deleted after ✔️."""

    async def on_delete(_client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        checked = Validators.search_query(" ".join(args)) if args else None
        if checked is None or not checked.ok or checked.value is None:
            await message.reply_text(mv.DELETE_USAGE)
            return
        files = await search.exact_matches(checked.value)
        text = mv.delete_offer_text(checked.value, [f.file_name for f in files], len(files))
        if not files:
            await message.reply_text(text)
            return
        token = await search.remember(parse_query(checked.value), checked.value)
        await message.reply_text(
            text, reply_markup=views.delete_keyboard(token, len(files), callbacks.encode)
        )

    return on_delete


def make_on_delete_button(
    *, indexing: IndexingService, log_channel: LogChannel, search: SearchService
) -> CallbackRoute:
    """🗑 Delete under `/delete`'s list: the query is matched again and its files deleted."""

    async def on_delete_button(
        _client: Client, query: CallbackQuery, fields: tuple[str, ...]
    ) -> None:
        text = await search.text_for_token(fields[0]) if fields else None
        if text is None or query.message is None:
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        files = await search.exact_matches(text)
        removed = await indexing.delete([f.id for f in files])
        log.info("files_deleted_by_admin", count=removed, by=query.from_user.id)
        audit(
            log_channel, query.from_user, f"deleted {removed:,} files matching “{mv.escape(text)}”"
        )
        await query.message.edit_text(mv.deleted_text(removed))
        await query.answer()

    return on_delete_button


def make_on_deleteall(*, indexing: IndexingService, log_channel: LogChannel) -> Callback:
    """`/deleteall`: asks for the confirmation word; `/deleteall <word>` deletes every file."""

    async def on_deleteall(_client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        if args != [mv.DELETE_ALL_WORD]:
            await message.reply_text(mv.delete_all_prompt(await indexing.count()))
            return
        removed = await indexing.delete_everything()
        by = message.from_user.id if message.from_user else None
        log.warning("all_files_deleted_by_admin", count=removed, by=by)
        audit(log_channel, message.from_user, f"deleted all files ({removed:,})")
        await message.reply_text(mv.deleted_text(removed))

    return on_deleteall


def make_on_debug_last(*, flags: FlagService, traces: TraceStore) -> Callback:
    """`/debug_last [n]` (the newest traces) or `/debug_last <ref>` (one, by the reference a user
    was shown), with ENABLE_DEBUG_CMD."""

    async def on_debug_last(_client: Client, message: Message) -> None:
        admin = message.from_user.id if message.from_user else None
        if not await flags.enabled("debug_command", admin, "private"):
            await message.reply_text(views.UNKNOWN_COMMAND)
            return
        args = (message.command or [])[1:]
        arg = args[0] if args else "5"
        # A reference first: one of eight hex digits may be all digits ("05709921").
        found = traces.find(arg.removeprefix("ref:"))
        if found is None and arg.isdigit() and len(arg) <= MAX_COUNT_DIGITS:
            recent = traces.last(min(max(1, int(arg)), 20))
            await message.reply_text(views.traces_text(recent))
            return
        if found is None:
            await message.reply_text(views.trace_not_found_text(arg, len(traces)))
            return
        await message.reply_text(views.trace_text(found))

    return on_debug_last


def make_on_flags(*, flags: FlagService) -> Callback:
    """`/flags`: every feature flag and how it is set."""

    async def on_flags(_client: Client, message: Message) -> None:
        await message.reply_text(views.flags_text(flags.all()))

    return on_flags


def make_on_flag(*, flags: FlagService, log_channel: LogChannel) -> Callback:
    """`/flag <name> on|off|<n>%|groups=…|chats=…|exclude=…|include=…`."""

    async def on_flag(_client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        name = args[0].lower() if args else ""
        if name not in FLAGS or len(args) != 2:  # noqa: PLR2004 - name, value
            await message.reply_text(views.FLAG_USAGE)
            return
        changes = flag_changes(flags.get(name), args[1])
        if isinstance(changes, str):
            await message.reply_text(f"{views.escape(changes)}\n\n{views.FLAG_USAGE}")
            return
        by = message.from_user.id if message.from_user else 0
        flag = await flags.set(name, changes, by)
        audit(log_channel, message.from_user, f"flag {name}: {views.escape(flag.describe())}")
        await message.reply_text(f"🚩 {name}: {views.escape(flag.describe())}")

    return on_flag


def flag_changes(flag: Flag, value: str) -> dict[str, object] | str:
    """What `/flag <name> <value>` changes; a text saying what is wrong."""
    key, _, rest = value.partition("=")
    items = [v for v in rest.replace(",", " ").split() if v]
    if not rest:
        try:
            changed = apply(flag, value)
        except ValueError as exc:
            return str(exc)
        return {"enabled": changed.enabled, "rollout": changed.rollout}
    if key == "groups" and items and set(items) <= set(GROUPS):
        return {"groups": frozenset(items)}
    if key == "chats" and items and set(items) <= set(KINDS):
        return {"chat_types": frozenset(items)}
    if key in ("exclude", "include") and items and all(_is_chat_id(i) for i in items):
        ids = {int(i) for i in items}
        excluded = flag.excluded_chats | ids if key == "exclude" else flag.excluded_chats - ids
        return {"excluded_chats": frozenset(excluded)}
    return f"I don't understand {value!r}"


def _is_chat_id(text: str) -> bool:
    return text.lstrip("-").isdigit()

"""The channel library for admins: `/index` (a command, a forwarded post or a post link), the
confirmation and job buttons, `/jobs` and `/cancel`; `/channels`, `/addchannel`,
`/removechannel`, `/addfile` and the files admins send the bot."""

from __future__ import annotations

import contextlib
import dataclasses

from pyrogram import Client
from pyrogram.enums import ChatType
from pyrogram.errors import MessageNotModified
from pyrogram.types import CallbackQuery, Message, MessageOriginChannel

from core.logging import get_logger
from core.models import JobRecord
from core.telegram.channels import incoming_file
from core.utils.guards import Guards
from core.utils.validators import Validators
from handlers import views
from handlers.callbacks import STALE_BUTTON, CallbackRoute, Encode
from handlers.common import audit
from handlers.middleware import Callback
from services.callbacks import CallbackCodec
from services.channel_index import ChannelIndexer, IndexProgress, Show
from services.channels import ChannelDirectory
from services.indexing import IndexingService
from services.log_channel import LogChannel
from services.search import SearchService

__all__ = [
    "is_index_request",
    "make_on_addchannel",
    "make_on_addfile",
    "make_on_admin_file",
    "make_on_cancel",
    "make_on_channels",
    "make_on_decline_button",
    "make_on_index",
    "make_on_index_button",
    "make_on_index_request",
    "make_on_job_button",
    "make_on_jobs",
    "make_on_remove_button",
    "make_on_removechannel",
    "make_progress_board",
]

log = get_logger(__name__)

_OPS = {"p": "pause", "r": "resume", "c": "cancel"}


async def _offer(
    callbacks: CallbackCodec,
    channel_index: ChannelIndexer,
    message: Message,
    *,
    chat: int | str,
    first: int,
    last: int,
) -> None:
    """Check that the channel can be read and ask for confirmation."""
    if first < 1 or last < first:
        await message.reply_text(
            f"That range is empty: the first id must be at least 1 and not above the last.\n\n"
            f"{views.INDEX_USAGE}"
        )
        return
    info = await channel_index.describe(chat)  # ChannelUnreadableError: a clear answer
    indexed = await channel_index.indexed_from(info.chat_id)
    await message.reply_text(
        views.index_offer_text(info.title, info.chat_id, first, last, indexed),
        reply_markup=views.index_offer_keyboard(info.chat_id, first, last, callbacks.encode),
    )


def make_on_index(*, callbacks: CallbackCodec, channel_index: ChannelIndexer) -> Callback:
    """`/index <chat|post link> [first_id] [last_id]`."""

    async def on_index(_client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        if not args:
            await message.reply_text(views.INDEX_USAGE)
            return
        link = Validators.post_link(args[0])
        numbers = [a for a in args[1:] if a.isascii() and a.isdigit()]
        if len(numbers) != len(args) - 1:
            await message.reply_text(f"Post ids are whole numbers.\n\n{views.INDEX_USAGE}")
            return
        ref = Validators.channel_ref(args[0])
        if not ref.ok or ref.value is None:
            await message.reply_text(f"{views.escape(ref.message)}.\n\n{views.INDEX_USAGE}")
            return
        ids = [int(n) for n in numbers]
        if link.ok and link.value is not None and not ids:
            await _offer(
                callbacks, channel_index, message, chat=link.value[0], first=1, last=link.value[1]
            )
        elif len(ids) == 2:  # noqa: PLR2004 - first and last
            await _offer(
                callbacks, channel_index, message, chat=ref.value, first=ids[0], last=ids[1]
            )
        else:
            await message.reply_text(views.INDEX_USAGE)

    return on_index


def is_index_request(guards: Guards, message: Message) -> bool:
    """An admin's private message that asks to index a channel: a post forwarded from a
    channel, or a post's link alone."""
    user = message.from_user
    if user is None or not guards.is_admin(user.id):
        return False
    if _forwarded_post(message) is not None:
        return True
    return bool(message.text) and Validators.post_link(message.text).ok


def _forwarded_post(message: Message) -> tuple[int, int] | None:
    """(channel id, post id) of a post forwarded from a channel."""
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel) or origin.chat is None:
        return None
    if origin.chat.type != ChatType.CHANNEL or origin.chat.id is None or not origin.message_id:
        return None
    return origin.chat.id, origin.message_id


def make_on_index_request(
    *,
    callbacks: CallbackCodec,
    channel_index: ChannelIndexer,
    channels: ChannelDirectory,
    indexing: IndexingService,
) -> Callback:
    """A forwarded channel post or a post link from an admin: index the channel up to it."""

    async def on_index_request(_client: Client, message: Message) -> None:
        forwarded = _forwarded_post(message)
        if forwarded is not None:
            await _index_forwarded_file(channels, indexing, message, *forwarded)
            await _offer(
                callbacks, channel_index, message, chat=forwarded[0], first=1, last=forwarded[1]
            )
            return
        link = Validators.post_link(message.text)
        if link.ok and link.value is not None:
            await _offer(
                callbacks, channel_index, message, chat=link.value[0], first=1, last=link.value[1]
            )

    return on_index_request


async def _index_forwarded_file(
    channels: ChannelDirectory,
    indexing: IndexingService,
    message: Message,
    chat_id: int,
    post_id: int,
) -> None:
    """A forwarded post's file, from an indexed channel, is indexed at once (as that post)."""
    incoming = incoming_file(message)
    origin = message.forward_origin
    chat = origin.chat if isinstance(origin, MessageOriginChannel) else None
    username = chat.username if chat is not None else None
    if incoming is None or not channels.watches(chat_id, username):
        return
    incoming = dataclasses.replace(incoming, chat_id=chat_id, message_id=post_id)
    report = await indexing.index([incoming])
    new = bool(report.inserted or report.updated)
    await message.reply_text(views.file_added_text(incoming.file_name or "file", new=new))


def make_on_index_button(
    *, callbacks: CallbackCodec, channel_index: ChannelIndexer, log_channel: LogChannel
) -> CallbackRoute:
    """▶️ Start under an offer: queue the job; the offer becomes its progress message."""

    async def on_index_button(
        _client: Client, query: CallbackQuery, fields: tuple[str, ...]
    ) -> None:
        message = query.message
        chat = message.chat if message is not None else None
        if message is None or chat is None or chat.id is None or len(fields) != 3:  # noqa: PLR2004
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        chat_id, first, last = (int(f) for f in fields)
        info = await channel_index.describe(chat_id)
        submitted = await channel_index.submit(
            info, first, last, admin_chat=chat.id, message_id=message.id
        )
        job = submitted.job
        if not submitted.created:
            await message.edit_text(views.index_exists_text(info.title, job.id, job.state))
            await query.answer()
            return
        await message.edit_text(
            views.index_queued_text(info.title, job.id),
            reply_markup=views.job_keyboard(job.id, job.state, callbacks.encode),
        )
        audit(
            log_channel,
            query.from_user,
            f"started indexing {views.escape(info.title)}, posts {first:,}-{last:,}",
        )
        await query.answer("Queued")

    return on_index_button


def make_on_decline_button(text: str) -> CallbackRoute:
    """The "no" under an admin's question (index this? remove that?): `text` replaces it."""

    async def on_decline(_client: Client, query: CallbackQuery, _fields: tuple[str, ...]) -> None:
        if query.message is not None:
            await query.message.edit_text(text)
        await query.answer()

    return on_decline


def make_on_job_button(*, callbacks: CallbackCodec, channel_index: ChannelIndexer) -> CallbackRoute:
    """Pause / Resume / Cancel under a progress message."""

    async def on_job_button(_client: Client, query: CallbackQuery, fields: tuple[str, ...]) -> None:
        if len(fields) != 2 or fields[0] not in _OPS:  # noqa: PLR2004 - op, job id
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        op, job_id = _OPS[fields[0]], fields[1]
        changed = await _change(channel_index, op, job_id)
        current = changed or await channel_index.get(job_id)
        if current is None:
            await query.answer(views.JOB_NOT_FOUND, show_alert=True)
            return
        if not changed and query.message is not None:  # the indexer showed a change itself
            with contextlib.suppress(MessageNotModified):  # it shows this state already
                await _show_job(callbacks, channel_index, query.message, current)
        await query.answer(
            views.plain(views.job_changed_text(current.id, current.state))
            if changed
            else f"Nothing to {op}: the job is {current.state}."
        )

    return on_job_button


def make_on_jobs(*, channel_index: ChannelIndexer) -> Callback:
    async def on_jobs(_client: Client, message: Message) -> None:
        jobs = await channel_index.recent(10)
        await message.reply_text(views.jobs_text([channel_index.progress_of(j) for j in jobs]))

    return on_jobs


def make_on_cancel(*, channel_index: ChannelIndexer) -> Callback:
    """`/cancel <job id or its first characters>`."""

    async def on_cancel(_client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        if len(args) != 1 or len(args[0]) < 4:  # noqa: PLR2004 - a few characters at least
            await message.reply_text(views.CANCEL_USAGE)
            return
        found = await channel_index.find(args[0])
        if len(found) != 1:
            await message.reply_text(
                views.JOB_NOT_FOUND if not found else "More than one job starts so; type more."
            )
            return
        job = found[0]
        cancelled = await channel_index.cancel(job.id)
        if cancelled is None:
            await message.reply_text(
                f"Job <code>{views.short_job_id(job.id)}</code> is already {job.state}."
            )
            return
        await message.reply_text(views.job_changed_text(cancelled.id, cancelled.state))

    return on_cancel


def make_progress_board(
    client: Client, encode: Encode, log_channel: LogChannel | None = None
) -> Show:
    """What the indexer calls to show a job's progress: an edit of its progress message."""

    async def show(job: JobRecord, progress: IndexProgress) -> None:
        chat_id, message_id = job.params.get("admin_chat"), job.params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        await client.edit_message_text(
            chat_id,
            message_id,
            views.index_progress_text(progress),
            reply_markup=views.index_progress_keyboard(progress, encode),
        )
        if progress.state == "done" and log_channel is not None:
            log_channel.post(views.index_progress_text(progress))

    return show


async def _change(channel_index: ChannelIndexer, op: str, job_id: str) -> JobRecord | None:
    indexer = channel_index
    if op == "pause":
        return await indexer.pause(job_id)
    if op == "resume":
        return await indexer.resume(job_id)
    return await indexer.cancel(job_id)


async def _show_job(
    callbacks: CallbackCodec, channel_index: ChannelIndexer, message: Message, job: JobRecord
) -> None:
    progress = channel_index.progress_of(job)
    await message.edit_text(
        views.index_progress_text(progress),
        reply_markup=views.index_progress_keyboard(progress, callbacks.encode),
    )


def make_on_channels(*, channels: ChannelDirectory) -> Callback:
    async def on_channels(_client: Client, message: Message) -> None:
        await message.reply_text(views.channels_text(await channels.summaries()))

    return on_channels


def _channel_arg(message: Message) -> int | str | None:
    args = (message.command or [])[1:]
    if len(args) != 1:
        return None
    ref = Validators.channel_ref(args[0])
    return ref.value if ref.ok else None


def make_on_addchannel(*, channel_index: ChannelIndexer, channels: ChannelDirectory) -> Callback:
    """`/addchannel <channel>`: its new posts are indexed from now on."""

    async def on_addchannel(_client: Client, message: Message) -> None:
        chat = _channel_arg(message)
        if chat is None:
            await message.reply_text(views.ADDCHANNEL_USAGE)
            return
        info = await channel_index.describe(chat)
        await channels.add(info.chat_id, info.title, info.username)
        await message.reply_text(views.channel_added_text(info.title))

    return on_addchannel


def make_on_removechannel(
    *, callbacks: CallbackCodec, channel_index: ChannelIndexer, channels: ChannelDirectory
) -> Callback:
    """`/removechannel <channel>`: asks before deleting the channel's files."""

    async def on_removechannel(_client: Client, message: Message) -> None:
        chat = _channel_arg(message)
        if chat is None:
            await message.reply_text(views.REMOVECHANNEL_USAGE)
            return
        if isinstance(chat, str):  # @name: the bot must resolve it
            info = await channel_index.describe(chat)
            chat_id, title = info.chat_id, info.title
        else:
            chat_id, title = chat, channels.title_of(chat)
        files = await channel_index.indexed_from(chat_id)
        await message.reply_text(
            views.remove_channel_text(title, files),
            reply_markup=views.remove_channel_keyboard(chat_id, files, callbacks.encode),
        )

    return on_removechannel


def make_on_remove_button(
    *, channels: ChannelDirectory, log_channel: LogChannel, search: SearchService
) -> CallbackRoute:
    async def on_remove(_client: Client, query: CallbackQuery, fields: tuple[str, ...]) -> None:
        if len(fields) != 1 or query.message is None:
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        chat_id = int(fields[0])
        title = channels.title_of(chat_id)
        deleted = await channels.remove(chat_id, title)
        await search.changed()
        await query.message.edit_text(views.channel_removed_text(title, deleted))
        audit(log_channel, query.from_user, views.channel_removed_text(title, deleted))
        await query.answer()

    return on_remove


def make_on_addfile(*, channels: ChannelDirectory) -> Callback:
    """`/addfile on|off`: whether files this admin sends the bot are indexed."""

    async def on_addfile(_client: Client, message: Message) -> None:
        args = [a.lower() for a in (message.command or [])[1:]]
        if args not in (["on"], ["off"]) or message.from_user is None:
            await message.reply_text(views.ADDFILE_USAGE)
            return
        on = args == ["on"]
        await channels.set_addfile_mode(message.from_user.id, on=on)
        await message.reply_text(views.addfile_text(on=on))

    return on_addfile


def make_on_admin_file(*, channels: ChannelDirectory, indexing: IndexingService) -> Callback:
    """A file an admin sends the bot in private chat (not forwarded from a channel: that is an
    index request, whose file is indexed with it): indexed when `/addfile on` is set."""

    async def on_admin_file(_client: Client, message: Message) -> None:
        incoming = incoming_file(message)
        user = message.from_user
        if incoming is None or user is None:
            return
        if not await channels.addfile_mode(user.id):
            await message.reply_text(views.ADDFILE_HINT)
            return
        report = await indexing.index([incoming])
        new = bool(report.inserted or report.updated)
        await message.reply_text(views.file_added_text(incoming.file_name or "file", new=new))

    return on_admin_file

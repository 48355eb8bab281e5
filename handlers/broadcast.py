"""`/broadcast` for admins: the confirmation, the durable job's progress message (edited at a
throttled pace, with Cancel) and the summary at the end."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import CallbackQuery, Message

from core.models import JobRecord
from handlers import broadcast_views as bv
from handlers.callbacks import STALE_BUTTON, CallbackRoute, Encode
from handlers.common import audit
from handlers.middleware import Callback
from services.broadcast import AUDIENCES, Broadcaster, BroadcastProgress, ShowBroadcast
from services.callbacks import CallbackCodec
from services.log_channel import LogChannel

__all__ = [
    "make_broadcast_board",
    "make_on_broadcast",
    "make_on_broadcast_button",
    "make_on_broadcast_cancel",
]


def make_on_broadcast(*, broadcasts: Broadcaster, callbacks: CallbackCodec) -> Callback:
    """`/broadcast users|groups|all [pin]` as a reply, or `/broadcast users <text>`."""

    async def on_broadcast(_client: Client, message: Message) -> None:
        args = list((message.command or [])[1:])
        audience = args[0].lower() if args else ""
        replied = message.reply_to_message
        if audience not in AUDIENCES:
            await message.reply_text(bv.BROADCAST_USAGE)
            return
        if replied is not None:
            if args[1:] not in ([], ["pin"]):
                await message.reply_text(bv.BROADCAST_USAGE)
                return
            pin, source, mode = args[1:] == ["pin"], replied.id, "r"
        elif len(args) > 1 and not (args[1] == "pin" and len(args) == 2):  # noqa: PLR2004
            pin, source, mode = args[1] == "pin", message.id, "t"
        else:
            await message.reply_text(bv.BROADCAST_USAGE)
            return
        recipients = await broadcasts.audience_size(audience)
        fields = (audience, str(source), mode + ("p" if pin else ""))
        await message.reply_text(
            bv.broadcast_offer_text(audience, recipients, pin=pin),
            reply_markup=bv.broadcast_offer_keyboard(fields, callbacks.encode),
        )

    return on_broadcast


def make_on_broadcast_button(
    *, broadcasts: Broadcaster, callbacks: CallbackCodec, log_channel: LogChannel
) -> CallbackRoute:
    """📣 Send under the confirmation: the job starts; that message becomes its progress."""

    async def on_broadcast_button(
        _client: Client, query: CallbackQuery, fields: tuple[str, ...]
    ) -> None:
        message = query.message
        chat = message.chat if message is not None else None
        valid = len(fields) == 3 and fields[1].isdigit()  # noqa: PLR2004 - audience, id, mode
        if not valid or message is None or chat is None or chat.id is None:
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        audience, source, mode = fields[0], int(fields[1]), fields[2]
        job = await broadcasts.submit(
            audience,
            admin_chat=chat.id,
            source_message=source,
            text_only=mode.startswith("t"),
            pin="p" in mode,
            message_id=message.id,
        )
        audit(log_channel, query.from_user, f"started a broadcast to {audience}")
        progress = broadcasts.progress_of(job)
        await message.edit_text(
            bv.broadcast_progress_text(progress),
            reply_markup=bv.broadcast_progress_keyboard(progress, callbacks.encode),
        )
        await query.answer()

    return on_broadcast_button


def make_on_broadcast_cancel(*, broadcasts: Broadcaster, callbacks: CallbackCodec) -> CallbackRoute:
    """✖️ Cancel: before the start (the confirmation) or during the job (its progress)."""

    async def on_broadcast_cancel(
        _client: Client, query: CallbackQuery, fields: tuple[str, ...]
    ) -> None:
        if not fields:
            if query.message is not None:
                await query.message.edit_text(bv.BROADCAST_DECLINED)
            await query.answer()
            return
        if await broadcasts.cancel(fields[0]) is not None:  # it shows that itself
            await query.answer()
            return
        job = await broadcasts.get(fields[0])
        if job is not None and query.message is not None:
            progress = broadcasts.progress_of(job)
            await query.message.edit_text(
                bv.broadcast_progress_text(progress),
                reply_markup=bv.broadcast_progress_keyboard(progress, callbacks.encode),
            )
        await query.answer()

    return on_broadcast_cancel


def make_broadcast_board(
    client: Client, encode: Encode, log_channel: LogChannel | None = None
) -> ShowBroadcast:
    """What the broadcaster calls to show progress: an edit of its message, and a summary
    message (which notifies the admin, unlike an edit) when it is done."""

    async def show(job: JobRecord, progress: BroadcastProgress) -> None:
        chat_id, message_id = job.params.get("admin_chat"), job.params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        await client.edit_message_text(
            chat_id,
            message_id,
            bv.broadcast_progress_text(progress),
            reply_markup=bv.broadcast_progress_keyboard(progress, encode),
        )
        if progress.state == "done":
            await client.send_message(chat_id, bv.broadcast_summary_text(progress))
            if log_channel is not None:
                log_channel.post(bv.broadcast_summary_text(progress))

    return show

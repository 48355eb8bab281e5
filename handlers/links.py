"""Share links for admins: `/link` (a reply to a file), `/links`, `/unlink`; and opening one
(`/start l_<code>`), which delivers through the one delivery path with the link's override."""

from __future__ import annotations

from pyrogram import Client
from pyrogram.types import Message

from core.telegram.channels import incoming_file
from core.utils.errors import NotFoundError
from core.utils.guards import Gate
from core.utils.validators import Validators
from handlers import link_views as lv
from handlers.common import bot_username
from handlers.middleware import Callback
from services.batch import BatchDeliveries
from services.channel_index import ChannelIndexer
from services.delivery import DeliveryService
from services.links import LinkOptions, LinkService
from services.users import UserService

__all__ = ["make_on_batch", "make_on_link", "make_on_links", "make_on_unlink", "open_link"]

MAX_USES = 1_000_000


def parse_options(args: list[str]) -> LinkOptions | str:
    """`premium` | `free`, `expires=<duration>`, `uses=<n>`; a text saying what is wrong."""
    gate: Gate | None = None
    expires = None
    uses: int | None = None
    for arg in args:
        key, _, value = arg.lower().partition("=")
        if key in ("premium", "free") and not value:
            gate = Gate(key)
        elif key == "expires" and value:
            checked = Validators.duration(value)
            if not checked.ok:
                return f"expires {checked.message}"
            expires = checked.value
        elif key == "uses" and value.isascii() and value.isdigit() and 0 < int(value) <= MAX_USES:
            uses = int(value)
        else:
            return f"I don't understand {arg!r}"
    return LinkOptions(gate=gate, expires_in=expires, uses=uses)


def make_on_link(*, links: LinkService) -> Callback:
    async def on_link(client: Client, message: Message) -> None:
        options = parse_options(list((message.command or [])[1:]))
        replied = message.reply_to_message
        shared = incoming_file(replied) if replied is not None else None
        if isinstance(options, str) or shared is None:
            problem = f"{lv.escape(options)}.\n\n" if isinstance(options, str) else ""
            await message.reply_text(problem + lv.LINK_USAGE)
            return
        record = await links.file(shared.unique_id)
        if record is None:
            await message.reply_text(lv.NOT_INDEXED)
            return
        by = message.from_user.id if message.from_user else 0
        link = await links.create(record, by, options)
        await message.reply_text(lv.link_created_text(link, record.file_name, bot_username(client)))

    return on_link


def make_on_links(*, links: LinkService, users: UserService) -> Callback:
    async def on_links(client: Client, message: Message) -> None:
        by = message.from_user.id if message.from_user else 0
        mine = await links.mine(by)
        names = await links.file_names(mine)
        await message.reply_text(lv.links_text(mine, names, bot_username(client), users.now()))

    return on_links


def make_on_unlink(*, links: LinkService) -> Callback:
    async def on_unlink(_client: Client, message: Message) -> None:
        args = (message.command or [])[1:]
        if len(args) != 1:
            await message.reply_text(lv.UNLINK_USAGE)
            return
        code = args[0].removeprefix("l_")
        if await links.revoke(code):
            await message.reply_text(
                f"🗑 Link <code>{lv.escape(code)}</code> revoked: it no longer works."
            )
        else:
            await message.reply_text(f"There is no link <code>{lv.escape(code)}</code>.")

    return on_unlink


async def open_link(
    client: Client,
    batches: BatchDeliveries,
    delivery: DeliveryService,
    links: LinkService,
    *,
    user_id: int,
    code: str,
) -> None:
    """`/start l_<code>`: the link's file, if the link is usable and the access policy (with
    the link's override above the file's) admits the user; one use counted per file sent. A
    batch link counts one use and queues the delivery of its posts' files."""
    shared = await links.open(code)  # NotFoundError: the middleware says why
    link = shared.link
    if shared.file is None:
        first, last = link.first_message_id or 0, link.last_message_id or 0
        files = await batches.count(link.chat_id or 0, first, last)
        if not files:
            raise NotFoundError("file", user_message="These files are no longer available.")
        await links.claim(link)
        await client.send_message(user_id, lv.batch_started_text(files))
        await batches.start(link, user_id)
        return

    async def claim() -> None:
        await links.claim(link)

    await delivery.deliver(user_id, shared.file.id, link_gate=shared.gate, claim=claim)


def make_on_batch(
    *, batches: BatchDeliveries, channel_index: ChannelIndexer, links: LinkService
) -> Callback:
    """`/batch <first post link> <last post link> [options]`."""

    async def on_batch(client: Client, message: Message) -> None:
        args = list((message.command or [])[1:])
        first = Validators.post_link(args[0]) if args else None
        last = Validators.post_link(args[1]) if len(args) > 1 else None
        options = parse_options(args[2:])
        if first is None or last is None or first.value is None or last.value is None:
            await message.reply_text(lv.BATCH_USAGE)
            return
        if isinstance(options, str):
            await message.reply_text(f"{lv.escape(options)}.\n\n{lv.BATCH_USAGE}")
            return
        (chat, first_id), (other, last_id) = first.value, last.value
        if chat != other or last_id < first_id:
            await message.reply_text(
                "Both links must point to posts of the same channel, the first one first.\n\n"
                + lv.BATCH_USAGE
            )
            return
        info = await channel_index.describe(chat)  # a clear error if unreadable
        files = await batches.count(info.chat_id, first_id, last_id)
        if not files:
            await message.reply_text(
                f"No indexed file in posts {first_id:,}-{last_id:,} of {lv.escape(info.title)}."
            )
            return
        by = message.from_user.id if message.from_user else 0
        link = await links.create_batch(info.chat_id, first_id, last_id, by, options)
        await message.reply_text(
            lv.batch_created_text(link, info.title, files, bot_username(client))
        )

    return on_batch

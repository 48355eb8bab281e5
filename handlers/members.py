"""Users for admins: `/ban`, `/unban`, `/banned`, `/user`, `/premium add|remove|list`; and
`/myplan` for everyone."""

from __future__ import annotations

from datetime import timedelta

from pyrogram import Client
from pyrogram.types import Message

from core.utils.guards import Guards
from core.utils.validators import Validators
from handlers import member_views as mv
from handlers.common import audit
from handlers.middleware import Callback
from services.log_channel import LogChannel
from services.notices import Notices
from services.users import UserService

__all__ = [
    "make_on_ban",
    "make_on_banned",
    "make_on_myplan",
    "make_on_premium",
    "make_on_unban",
    "make_on_user",
]


def _args(message: Message) -> list[str]:
    return list((message.command or [])[1:])


async def _user_id(users: UserService, message: Message, ref: str) -> int | None:
    """The id of the user `ref` names: a numeric id (known to the bot or not) or the @username
    of a user who wrote to it. Answers and gives None when nobody matches."""
    checked = Validators.user_id(ref)
    if checked.ok and checked.value is not None:
        return checked.value
    user = await users.find(ref) if ref.startswith("@") else None
    if user is None:
        await message.reply_text(mv.unknown_user_text(ref))
        return None
    return user.id


def make_on_ban(
    *, guards: Guards, log_channel: LogChannel, notices: Notices, users: UserService
) -> Callback:
    """`/ban <id|@username> [reason]`: the user is told once, with the reason."""

    async def on_ban(_client: Client, message: Message) -> None:
        args = _args(message)
        if not args:
            await message.reply_text(mv.BAN_USAGE)
            return
        user_id = await _user_id(users, message, args[0])
        if user_id is None:
            return
        if guards.is_admin(user_id):
            await message.reply_text(mv.ADMIN_CANNOT_BE_BANNED)
            return
        reason = " ".join(args[1:]).strip()[:200]
        by = message.from_user.id if message.from_user else 0
        user, newly = await users.ban(user_id, reason, by)
        if newly:
            notices.post(user_id, mv.ban_notice(reason))
            audit(
                log_channel,
                message.from_user,
                f"banned {mv.who(user)}" + (f": {mv.escape(reason)}" if reason else ""),
            )
        await message.reply_text(mv.banned_text(user, newly=newly))

    return on_ban


def make_on_unban(*, log_channel: LogChannel, notices: Notices, users: UserService) -> Callback:
    async def on_unban(_client: Client, message: Message) -> None:
        args = _args(message)
        if len(args) != 1:
            await message.reply_text(mv.UNBAN_USAGE)
            return
        user_id = await _user_id(users, message, args[0])
        if user_id is None:
            return
        lifted = await users.unban(user_id)
        user = await users.get(user_id)
        name = mv.who(user) if user else f"<code>{user_id}</code>"
        if lifted:
            notices.post(user_id, mv.UNBANNED_NOTICE)
            audit(log_channel, message.from_user, f"lifted the ban of {name}")
            await message.reply_text(f"✅ {name} is no longer banned. They were told.")
        else:
            await message.reply_text(f"{name} is not banned.")

    return on_unban


def make_on_banned(*, users: UserService) -> Callback:
    async def on_banned(_client: Client, message: Message) -> None:
        await message.reply_text(mv.banned_list_text(await users.banned()))

    return on_banned


def make_on_user(*, guards: Guards, users: UserService) -> Callback:
    """`/user <id|@username>`: one user's record."""

    async def on_user(_client: Client, message: Message) -> None:
        args = _args(message)
        if len(args) != 1:
            await message.reply_text(mv.USER_USAGE)
            return
        user_id = await _user_id(users, message, args[0])
        if user_id is None:
            return
        user = await users.current(user_id)
        if user is None:
            await message.reply_text(f"<code>{user_id}</code> has never written to the bot.")
            return
        await message.reply_text(
            mv.user_card_text(user, users.now(), is_admin=guards.is_admin(user_id))
        )

    return on_user


def make_on_premium(*, log_channel: LogChannel, notices: Notices, users: UserService) -> Callback:
    """`/premium add <user> <length|forever>`, `/premium remove <user>`, `/premium list`."""

    async def on_premium(_client: Client, message: Message) -> None:
        args = _args(message)
        action = args[0].lower() if args else ""
        if action == "list" and len(args) == 1:
            holders = await users.premium()
            await message.reply_text(mv.premium_list_text(holders, users.now()))
        elif action == "add" and len(args) == 3:  # noqa: PLR2004 - add, user, length
            await _add_premium(
                log_channel, notices, users, message, ref=args[1], length_text=args[2]
            )
        elif action == "remove" and len(args) == 2:  # noqa: PLR2004 - remove, user
            await _remove_premium(log_channel, notices, users, message, args[1])
        else:
            await message.reply_text(mv.PREMIUM_USAGE)

    return on_premium


async def _add_premium(
    log_channel: LogChannel,
    notices: Notices,
    users: UserService,
    message: Message,
    *,
    ref: str,
    length_text: str,
) -> None:
    length: timedelta | None = None
    if length_text.lower() != "forever":
        checked = Validators.duration(length_text)
        if not checked.ok or checked.value is None:
            await message.reply_text(
                f"The length {mv.escape(checked.message)}.\n\n{mv.PREMIUM_USAGE}"
            )
            return
        length = checked.value
    user_id = await _user_id(users, message, ref)
    if user_id is None:
        return
    change = await users.grant_premium(user_id, length)
    notices.post(user_id, mv.plan_granted_notice(change.user, extended=change.extended))
    until = mv.when(change.user.premium_until) if change.user.premium_until else "forever"
    audit(log_channel, message.from_user, f"premium for {mv.who(change.user)} until {until}")
    await message.reply_text(mv.plan_granted_text(change.user, extended=change.extended))


async def _remove_premium(
    log_channel: LogChannel, notices: Notices, users: UserService, message: Message, ref: str
) -> None:
    user_id = await _user_id(users, message, ref)
    if user_id is None:
        return
    ended = await users.revoke_premium(user_id)
    if ended is None:
        await message.reply_text(f"<code>{user_id}</code> has no running premium plan.")
        return
    notices.post(user_id, mv.PLAN_REVOKED_NOTICE)
    audit(log_channel, message.from_user, f"ended the premium plan of {mv.who(ended)}")
    await message.reply_text(f"{mv.who(ended)}: the premium plan has ended. They were told.")


def make_on_myplan(*, guards: Guards, users: UserService) -> Callback:
    async def on_myplan(_client: Client, message: Message) -> None:
        if message.from_user is None:
            return
        user_id = message.from_user.id
        await message.reply_text(
            mv.my_plan_text(
                await users.get(user_id),
                users.now(),
                is_admin=guards.is_admin(user_id),
                info=guards.premium_info,
            )
        )

    return on_myplan

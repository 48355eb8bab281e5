"""`python bot.py simulate`: the real bot on the Telegram double and the embedded database, in a
terminal, without a token. Lines are messages from the current user; `:commands` steer. What
the bot sends on its own (auto-delete, reminders, broadcast copies, job progress) is printed
too, with the chat it went to; log lines go to stderr (`2>simulate.log`)."""

from __future__ import annotations

import asyncio
import re
import shlex
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import TextIO

from core.config import Settings
from testkit.harness import (
    BotHarness,
    BotMessage,
    HarnessChannel,
    HarnessUser,
    InlineAnswer,
    snapshot,
)

__all__ = ["run_simulation"]

HELP = """Type a message to send it to the bot as the current user. Commands:
  :as user|admin             switch who is typing
  :click N                   press button N of the last message that had buttons
  :inline QUERY              search inline (@bot QUERY)
  :reply TEXT                send TEXT as a reply to the last file the bot sent here,
                             else to its last message (e.g. /link free, /broadcast users)
  :forward CHANNEL [ID]      forward the channel's last post (or post ID) to the bot
  :file "name" SIZE          send the bot a file, e.g. :file "Heat.1995.mkv" 2G
  :join                      join every force-subscribe channel (AUTH_CHANNELS)
  :group TEXT                write TEXT in the group "Film Club" (the auto-filter answers)
  :post CHANNEL "name" SIZE  post a file to a channel (created if new),
                             e.g. :post Movies "Heat.1995.mkv" 2G
  :advance 10m               move time forward (s, m, h, d); typed sessions also
                             follow the wall clock, piped scripts only this
  :help                      this text
  :quit                      leave"""

USER_ID = 1001
ADMIN_ID = 1
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMG]?)B?$", re.IGNORECASE)
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def _size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (try 700M or 2G)")
    factor = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[match.group(2).upper()]
    return int(float(match.group(1)) * factor)


def _seconds(text: str) -> float:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (try 30s, 10m, 2h or 1d)")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _samples() -> list[tuple[str, int, str]]:
    text = resources.files("testkit").joinpath("sample_files.txt").read_text("utf-8")
    rows = [line.split("|") for line in text.splitlines() if line and not line.startswith("#")]
    return [(name, int(size), mime) for name, size, mime in rows]


class Simulation:
    def __init__(self, bot: BotHarness, out: TextIO, channels: World) -> None:
        self.bot = bot
        self.out = out
        self.users = {
            "user": bot.user(USER_ID, "Alice", "alice"),
            "admin": bot.user(ADMIN_ID, "Admin", "admin"),
        }
        self.current: HarnessUser = self.users["user"]
        self.channels: dict[str, HarnessChannel] = dict(channels.indexed)
        self.auth_channels = channels.auth
        self.samples_channel = channels.samples
        self.last_with_buttons: BotMessage | None = None
        self.group = bot.group("Film Club", members=list(self.users.values()))
        self._seen: dict[tuple[int, int], tuple[int, bool]] = {}
        self.mark_all_seen()

    def _watched(self) -> dict[int, str]:
        """The chats whose messages are printed: each user's private chat, and the group."""
        chats = {user.id: user.name for user in self.users.values()}
        chats[self.group.id] = self.group.state.title
        return chats

    def mark_all_seen(self) -> None:
        for chat_id in self._watched():
            for stored in self.bot.telegram.messages.get(chat_id, {}).values():
                self._seen[(chat_id, stored.id)] = (stored.version, stored.deleted)

    def _mark_seen(self, message: BotMessage) -> None:
        stored = self.bot.telegram.messages.get(message.chat_id, {}).get(message.id)
        if stored is not None:
            self._seen[(message.chat_id, message.id)] = (stored.version, stored.deleted)

    def show_unprompted(self) -> None:
        """What the bot sent, edited or deleted that no reply showed: to another user, or on
        its own (auto-delete, plan reminders, broadcast copies, progress of a job)."""
        for chat_id, name in self._watched().items():
            for stored in sorted(
                self.bot.telegram.messages.get(chat_id, {}).values(), key=lambda m: m.id
            ):
                key, now = (chat_id, stored.id), (stored.version, stored.deleted)
                if not stored.outgoing or self._seen.get(key) == now:
                    continue
                edited = key in self._seen
                self._seen[key] = now
                text = (stored.raw.message or "").split("\n", 1)[0]
                if stored.deleted:
                    self.say(f"(the bot deleted a message to {name}: {text})")
                    continue
                label = "edited" if edited else "bot"
                self.show([snapshot(stored)], prefix=f"[{label} → {name}] ", remember=False)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show(
        self, messages: list[BotMessage], *, prefix: str | None = None, remember: bool = True
    ) -> None:
        if not messages:
            self.say("(no reply)")
        for message in messages:
            self._mark_seen(message)
            label = prefix or ("[edited] " if message.edited else "[bot] ")
            body = message.text or ""
            if message.media:
                kind = message.media.kind + (", protected" if message.protect_content else "")
                body = f"[{kind}: {message.media.file_name}] {body}".strip()
            self.say(label + body.replace("\n", "\n      "))
            buttons = message.all_buttons
            if buttons and remember:
                self.last_with_buttons = message
            if buttons:
                self.say("      " + "  ".join(f"[{i}] {b.text}" for i, b in enumerate(buttons, 1)))

    def show_inline(self, answer: InlineAnswer) -> None:
        if not answer.answered:
            self.say("(no inline answer)")
            return
        if answer.switch_pm_text:
            self.say(f"[inline] button: {answer.switch_pm_text}")
        for i, result in enumerate(answer.results, 1):
            # An audio result has no title of its own (Telegram shows the file's).
            title = result.title or (result.file.file_name if result.file else None) or "(file)"
            self.say(f"[inline {i}] {title} — {result.description or ''}".rstrip(" —"))
        if not answer.results:
            self.say("[inline] no results")

    async def post(self, channel_name: str, file_name: str, size: int, mime: str) -> None:
        channel = self.channels.get(channel_name)
        if channel is None:
            channel = self.channels[channel_name] = self.bot.channel(channel_name)
        if mime.startswith("video/"):
            await channel.post_video(file_name, size=size, mime_type=mime)
        elif mime.startswith("audio/"):
            await channel.post_audio(file_name, size=size, mime_type=mime)
        else:
            await channel.post_document(file_name, size=size, mime_type=mime)

    async def handle(self, line: str) -> bool:
        """Run one input line; False means quit."""
        try:
            return await self._handle(line)
        except ValueError as exc:  # a bad size or duration, an over-long message, bad quoting
            self.say(f"({exc})")
            return True
        finally:
            self.show_unprompted()

    async def _handle(self, line: str) -> bool:
        if not line.startswith(":"):
            self.show(await self.current.send(line))
            return True
        parts = shlex.split(line[1:])
        command, args = (parts[0].lower(), parts[1:]) if parts else ("help", [])
        if command in {"quit", "exit", "q"}:
            return False
        action = {
            "as": self._switch,
            "click": self._click_command,
            "inline": self._inline,
            "reply": self._reply,
            "forward": self._forward,
            "file": self._file,
            "join": self._join,
            "group": self._group,
            "post": self._post_command,
            "advance": self._advance,
        }.get(command)
        if action is None or not await action(args):
            self.say(HELP)
        return True

    async def _switch(self, args: list[str]) -> bool:
        if not args or args[0] not in self.users:
            return False
        self.current = self.users[args[0]]
        self.say(f"(now typing as {args[0]}: {self.current.name}, id {self.current.id})")
        return True

    async def _click_command(self, args: list[str]) -> bool:
        if not args or not args[0].isascii() or not args[0].isdigit():
            return False
        await self.click(int(args[0]))
        return True

    async def _inline(self, args: list[str]) -> bool:
        self.show_inline(await self.current.inline(" ".join(args)))
        self.last_with_buttons = None  # :click must not press an older message's button
        return True

    async def _reply(self, args: list[str]) -> bool:
        if not args:
            return False
        chat = [m for m in self.current.chat if m.outgoing and not m.deleted]
        files = [m for m in chat if m.media is not None]
        if not chat:
            self.say("(the bot has sent nothing here to reply to)")
            return True
        self.show(await self.current.reply((files or chat)[-1], " ".join(args)))
        return True

    async def _forward(self, args: list[str]) -> bool:
        if not args or len(args) > 2:  # noqa: PLR2004 - channel, post id
            return False
        channel = self.channels.get(args[0])
        if channel is None:
            self.say(f"(no channel {args[0]!r}: {', '.join(self.channels)})")
            return True
        posts = [m for m in channel.messages if not m.deleted]
        if len(args) == 2:  # noqa: PLR2004
            posts = [m for m in posts if str(m.id) == args[1]]
        if not posts:
            self.say(f"(no such post in {args[0]})")
            return True
        self.show(await self.current.forward(posts[-1]))
        return True

    async def _file(self, args: list[str]) -> bool:
        if len(args) != 2:  # noqa: PLR2004 - name, size
            return False
        name = args[0]
        mime = (
            "video/x-matroska"
            if name.lower().endswith((".mkv", ".mp4"))
            else "audio/mpeg"
            if name.lower().endswith((".mp3", ".flac", ".m4a"))
            else "application/octet-stream"
        )
        self.show(await self.current.send_document(name, size=_size(args[1]), mime_type=mime))
        return True

    async def _join(self, _args: list[str]) -> bool:
        for channel in self.auth_channels:
            self.current.join(channel)
            self.say(f"(joined {channel.title})")
        if not self.auth_channels:
            self.say("(no AUTH_CHANNELS are set)")
        return True

    async def _group(self, args: list[str]) -> bool:
        if not args:
            return False
        replies = await self.group.send(self.current, " ".join(args))
        if replies:
            self.show(replies)
        else:
            self.say("(the group stays quiet)")
        return True

    async def _post_command(self, args: list[str]) -> bool:
        if len(args) != 3:  # noqa: PLR2004 - channel, name, size
            return False
        mime = "video/x-matroska" if args[1].lower().endswith((".mkv", ".mp4")) else ""
        await self.post(args[0], args[1], _size(args[2]), mime or "application/octet-stream")
        self.say(f"(posted {args[1]} to {args[0]})")
        return True

    async def _advance(self, args: list[str]) -> bool:
        if not args:
            return False
        await self.bot.advance(_seconds(args[0]))
        self.say(f"(virtual time is now {self.bot.clock.now():%Y-%m-%d %H:%M:%S} UTC)")
        return True

    async def click(self, number: int) -> None:
        message = self.last_with_buttons
        buttons = message.all_buttons if message else []
        if message is None or not 1 <= number <= len(buttons):
            self.say("(no such button)")
            return
        button = buttons[number - 1]
        own = f"https://t.me/{self.bot.telegram.bot.username}?start="
        if button.url is not None and button.url.startswith(own):
            self.say(f"(following {button.url} to the private chat)")
            self.show(await self.current.open_link(button.url))
            return
        if button.data is None:
            target = button.url or f"inline query {button.switch_inline!r}"
            self.say(f"(that button opens {target}; nothing to press here)")
            return
        replies = await self.current.click(message, button)
        if replies.answer and replies.answer.text:
            self.say(f"[answer] {replies.answer.text}")
        self.show(replies)


class World:
    """The chats the settings name, as stand-ins on the double (made before the bot starts)."""

    def __init__(self, bot: BotHarness, settings: Settings) -> None:
        self.indexed: dict[str, HarnessChannel] = {}
        for number, ref in enumerate(settings.channels, 1):
            channel = _stand_in(bot, ref, f"Channel {number}")
            self.indexed[channel.title] = channel
        if not self.indexed:
            self.indexed["Movies"] = bot.channel("Movies")
        self.samples = next(iter(self.indexed.values()))
        self.auth = [
            _stand_in(bot, ref, f"Auth channel {number}")
            for number, ref in enumerate(settings.auth_channels, 1)
        ]


def _stand_in(bot: BotHarness, ref: int | str, title: str) -> HarnessChannel:
    if isinstance(ref, str):  # @username
        name = ref.lstrip("@")
        return bot.channel(name, username=name)
    return bot.channel(title, chat_id=ref)


def _read_line(stream: TextIO) -> asyncio.Future[str]:
    """The next line, read on a daemon thread: at Ctrl-C the process exits at once instead of
    waiting for a thread blocked in `readline()`."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(line: str) -> None:
        if not future.done():
            future.set_result(line)

    def read() -> None:
        line = stream.readline()
        try:
            loop.call_soon_threadsafe(settle, line)
        except RuntimeError:  # the loop closed while we were waiting
            return

    threading.Thread(target=read, name="simulate-stdin", daemon=True).start()
    return future


async def run_simulation(
    settings: Settings,
    stdin: TextIO,
    stdout: TextIO,
    *,
    real_time: bool | None = None,
    wall_clock: Callable[[], float] = time.monotonic,
) -> int:
    """Start the harness with the bot's own settings (environment and `.env`) on an embedded
    database, create the chats those settings name, post the samples, then read commands.

    `real_time` (default: when stdin is a terminal): virtual time follows `wall_clock` between
    lines, as it would for a live bot; otherwise it moves only with `:advance`, so that a piped
    script gives the same answers however fast it runs."""
    if real_time is None:
        real_time = stdin.isatty()
    admins = " ".join(str(a) for a in sorted({*settings.admins, ADMIN_ID}))
    bot = BotHarness(
        base_settings=settings, ADMINS=admins, LOG_LEVEL="WARNING", configure_logs=False
    )
    world = World(bot, settings)
    bot.configure(
        CHANNELS=" ".join(str(c.id) for c in world.indexed.values()) if settings.channels else "",
        AUTH_CHANNELS=" ".join(str(c.id) for c in world.auth),
    )
    if {"http_port", "port"} & settings.model_fields_set and settings.http_port:
        # The operator asked for the HTTP server: /health and /metrics of the simulated bot.
        bot.configure(HTTP_PORT=settings.http_port, HTTP_HOST=settings.http_host)
    async with bot:
        sim = Simulation(bot, stdout, world)
        for name, size, mime in _samples():
            await sim.post(world.samples.title, name, size, mime)
        sim.mark_all_seen()
        sim.say(
            f"Simulated @{bot.telegram.bot.username}: {len(_samples())} sample files posted to "
            f"'{world.samples.title}'. You are 'user' (Alice). Type :help for commands."
        )
        if bot.running.ops.http is not None:
            sim.say(f"(serving /health and /metrics at {bot.http_url})")
        last = wall_clock()
        while True:
            if stdin.isatty():
                stdout.write(f"{sim.current.name}> ")
                stdout.flush()
            raw_line = await _read_line(stdin)
            if raw_line == "":
                break
            if real_time:
                now = wall_clock()
                await bot.advance(max(0.0, now - last))
                last = now
            line = raw_line.strip()
            if line and not await sim.handle(line):
                break
    return 0

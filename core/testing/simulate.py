"""`python bot.py simulate`: the real bot on the Telegram double and the embedded database, in a
terminal, without a token. Lines are messages from the current user; `:commands` steer."""

from __future__ import annotations

import asyncio
import re
import shlex
from importlib import resources
from typing import TextIO

from core.config import Settings
from core.testing.harness import BotHarness, BotMessage, HarnessChannel, HarnessUser, InlineAnswer

__all__ = ["run_simulation"]

HELP = """Type a message to send it to the bot as the current user. Commands:
  :as user|admin             switch who is typing
  :click N                   press button N of the last message that had buttons
  :inline QUERY              search inline (@bot QUERY)
  :group TEXT                write TEXT in the group "Film Club" (the auto-filter answers)
  :post CHANNEL "name" SIZE  post a file to a channel (created if new),
                             e.g. :post Movies "Heat.1995.mkv" 2G
  :advance 10m               move virtual time forward (s, m, h, d)
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
    text = resources.files("core.testing").joinpath("sample_files.txt").read_text("utf-8")
    rows = [line.split("|") for line in text.splitlines() if line and not line.startswith("#")]
    return [(name, int(size), mime) for name, size, mime in rows]


class Simulation:
    def __init__(self, bot: BotHarness, out: TextIO) -> None:
        self.bot = bot
        self.out = out
        self.users = {
            "user": bot.user(USER_ID, "Alice", "alice"),
            "admin": bot.user(ADMIN_ID, "Admin", "admin"),
        }
        self.current: HarnessUser = self.users["user"]
        self.channels: dict[str, HarnessChannel] = {}
        self.last_with_buttons: BotMessage | None = None
        self.group = bot.group("Film Club", members=list(self.users.values()))

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, messages: list[BotMessage]) -> None:
        if not messages:
            self.say("(no reply)")
        for message in messages:
            label = "edited" if message.edited else "bot"
            body = message.text or ""
            if message.media:
                body = f"[{message.media.kind}: {message.media.file_name}] {body}".strip()
            self.say(f"[{label}] " + body.replace("\n", "\n      "))
            buttons = message.all_buttons
            if buttons:
                self.last_with_buttons = message
                self.say("      " + "  ".join(f"[{i}] {b.text}" for i, b in enumerate(buttons, 1)))

    def show_inline(self, answer: InlineAnswer) -> None:
        if not answer.answered:
            self.say("(no inline answer)")
            return
        if answer.switch_pm_text:
            self.say(f"[inline] button: {answer.switch_pm_text}")
        for i, result in enumerate(answer.results, 1):
            self.say(f"[inline {i}] {result.title} — {result.description or ''}".rstrip(" —"))
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
        if not line.startswith(":"):
            self.show(await self.current.send(line))
            return True
        parts = shlex.split(line[1:])
        command, args = (parts[0].lower(), parts[1:]) if parts else ("help", [])
        if command in {"quit", "exit", "q"}:
            return False
        if command == "as" and args and args[0] in self.users:
            self.current = self.users[args[0]]
            self.say(f"(now typing as {args[0]}: {self.current.name}, id {self.current.id})")
        elif command == "click" and args and args[0].isdigit():
            await self.click(int(args[0]))
        elif command == "inline":
            self.show_inline(await self.current.inline(" ".join(args)))
        elif command == "group" and args:
            replies = await self.group.send(self.current, " ".join(args))
            if replies:
                self.show(replies)
            else:
                self.say("(the group stays quiet)")
        elif command == "post" and len(args) == 3:  # noqa: PLR2004 - channel, name, size
            mime = "video/x-matroska" if args[1].lower().endswith((".mkv", ".mp4")) else ""
            await self.post(args[0], args[1], _size(args[2]), mime or "application/octet-stream")
            self.say(f"(posted {args[1]} to {args[0]})")
        elif command == "advance" and args:
            await self.bot.advance(_seconds(args[0]))
            self.say(f"(virtual time is now {self.bot.clock.now():%Y-%m-%d %H:%M:%S} UTC)")
        else:
            self.say(HELP)
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


async def _read_lines(stream: TextIO) -> list[str] | None:
    line = await asyncio.to_thread(stream.readline)
    return None if line == "" else [line.rstrip("\n")]


async def run_simulation(settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    """Start the harness on the embedded database, post the samples, then read commands."""
    admins = " ".join(str(a) for a in {*settings.admins, ADMIN_ID})
    async with BotHarness(ADMINS=admins, LOG_LEVEL="WARNING", configure_logs=False) as bot:
        sim = Simulation(bot, stdout)
        for name, size, mime in _samples():
            await sim.post("Movies", name, size, mime)
        sim.say(
            f"Simulated @{bot.telegram.bot.username}: {len(_samples())} sample files posted to "
            "'Movies'. You are 'user' (Alice). Type :help for commands."
        )
        while True:
            if stdin.isatty():
                stdout.write(f"{sim.current.name}> ")
                stdout.flush()
            lines = await _read_lines(stdin)
            if lines is None:
                break
            line = lines[0].strip()
            if line and not await sim.handle(line):
                break
    return 0

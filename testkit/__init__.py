"""Test kit shipped with the bot: the Telegram double, a virtual clock and the bot harness.

Operators use it to test their own changes; see docs/TESTING.md.
"""

from __future__ import annotations

from testkit.clock import VirtualClock
from testkit.dbproxy import DatabaseProxy
from testkit.harness import (
    BotHarness,
    BotMessage,
    Button,
    HarnessChannel,
    HarnessError,
    HarnessGroup,
    HarnessUser,
    InlineAnswer,
    Replies,
)
from testkit.telegram import DoubleClient, TelegramDouble, UnknownRPCError

__all__ = [
    "BotHarness",
    "BotMessage",
    "Button",
    "DatabaseProxy",
    "DoubleClient",
    "HarnessChannel",
    "HarnessError",
    "HarnessGroup",
    "HarnessUser",
    "InlineAnswer",
    "Replies",
    "TelegramDouble",
    "UnknownRPCError",
    "VirtualClock",
]

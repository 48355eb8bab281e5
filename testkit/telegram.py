"""The Telegram double: a real Pyrogram `Client` whose RPCs are answered from in-memory state.

Only the network is replaced. `DoubleClient.invoke` hands every raw function to `TelegramDouble`,
which answers with raw TL objects; updates from "users" go through the client's own
`handle_updates`, dispatcher, filters and handlers. Every result and update is round-tripped
through TL serialisation (and every query serialised), so objects look exactly as they do off the
wire: optional vectors are `[]`, never `None`.

The double is split by concern under `testkit/double/`: state and storage (`state`), what
users and channels do (`actions`), RPC handlers for messages, chats and answers (`rpc_*`),
injected faults (`faults`) and Telegram's limits (`limits`); this module composes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyrogram import raw
from pyrogram.raw.core import TLObject

from testkit.clock import VirtualClock
from testkit.double.actions import UserActions
from testkit.double.client import DoubleClient
from testkit.double.faults import Faults
from testkit.double.limits import SENDING, check_input_limits
from testkit.double.rpc_answers import AnswersRPC
from testkit.double.rpc_chats import ChatsRPC
from testkit.double.rpc_messages import MessagesRPC
from testkit.double.state import (
    ChannelState,
    DocumentState,
    StoredMessage,
    UnknownRPCError,
    UserState,
    roundtrip,
)

__all__ = [
    "ChannelState",
    "DocumentState",
    "DoubleClient",
    "StoredMessage",
    "TelegramDouble",
    "UnknownRPCError",
    "UserState",
]


class TelegramDouble(UserActions, Faults, MessagesRPC, ChatsRPC, AnswersRPC):
    """In-memory Telegram: users, chats, channels, messages, documents, answers and faults."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        bot_id: int = 7_000_000_001,
        bot_username: str = "FileSearchBot",
        bot_name: str = "File Search",
    ) -> None:
        super().__init__(clock, bot_id=bot_id, bot_username=bot_username, bot_name=bot_name)
        self._handlers: dict[type, Callable[[Any], Any]] = {
            raw.functions.updates.GetState: self._get_state,
            raw.functions.users.GetFullUser: self._get_full_user,
            raw.functions.users.GetUsers: self._get_users,
            raw.functions.channels.GetChannels: self._get_channels,
            raw.functions.bots.SetBotCommands: self._set_bot_commands,
            raw.functions.messages.SendMessage: self._send_message,
            raw.functions.messages.SendMedia: self._send_media,
            raw.functions.upload.SaveFilePart: self._save_file_part,
            raw.functions.upload.SaveBigFilePart: self._save_file_part,
            raw.functions.messages.EditMessage: self._edit_message,
            raw.functions.messages.UpdatePinnedMessage: self._update_pinned_message,
            raw.functions.messages.DeleteMessages: self._delete_messages,
            raw.functions.channels.DeleteMessages: self._delete_channel_messages,
            raw.functions.messages.ForwardMessages: self._forward_messages,
            raw.functions.channels.GetMessages: self._get_channel_messages,
            raw.functions.messages.GetMessages: self._get_messages,
            raw.functions.messages.SetBotCallbackAnswer: self._set_callback_answer,
            raw.functions.messages.SetInlineBotResults: self._set_inline_results,
            raw.functions.channels.GetParticipant: self._get_participant,
            raw.functions.channels.LeaveChannel: self._leave_channel,
            raw.functions.messages.ExportChatInvite: self._export_chat_invite,
            raw.functions.contacts.ResolveUsername: self._resolve_username,
        }

    async def invoke(self, query: TLObject[Any]) -> Any:
        # Serialise the request as the wire would (a malformed query fails here), but answer the
        # object itself: Pyrogram's readers for *functions* are never used by clients and some
        # mis-read vectors (messages.GetMessages ids come back as longs).
        query.write()
        name = type(query).QUALNAME.removeprefix("functions.")
        chat_id = self._target_chat(query)
        self.rpc_log.append(name)
        self.rpc_chats.append(chat_id)
        handler = self._handlers.get(type(query))
        if handler is None:
            self.unknown_rpcs.append(name)
            raise UnknownRPCError(name)
        fault = self._injected_fault(name, chat_id)
        if fault is not None:
            raise fault
        check_input_limits(name, query)
        if self.enforce_rate_limits and name in SENDING and chat_id is not None:
            self._rates.check(chat_id)
        result = handler(query)
        if hasattr(result, "__await__"):
            result = await result
        return roundtrip(result)

    def _target_chat(self, query: Any) -> int | None:
        peer = getattr(query, "peer", None) or getattr(query, "to_peer", None)
        peer = peer or getattr(query, "channel", None)
        return self._chat_id_of(peer) if peer is not None else None

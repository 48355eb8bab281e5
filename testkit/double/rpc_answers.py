"""RPC handlers for the bot's answers to button presses and inline queries."""

from __future__ import annotations

from typing import Any

from pyrogram.errors import (
    ResultsTooMuch,
)

from testkit.double.state import (
    CallbackAnswerRecord,
    DoubleState,
    InlineAnswerRecord,
)


class AnswersRPC(DoubleState):
    """messages.SetBotCallbackAnswer and messages.SetInlineBotResults."""

    def _set_callback_answer(self, query: Any) -> bool:
        self.callback_answers[query.query_id] = CallbackAnswerRecord(
            query.query_id, query.message, bool(query.alert), query.url
        )
        return True

    def _set_inline_results(self, query: Any) -> bool:
        if len(query.results) > 50:  # noqa: PLR2004 - Telegram's limit
            raise ResultsTooMuch
        switch = query.switch_pm
        self.inline_answers[query.query_id] = InlineAnswerRecord(
            query_id=query.query_id,
            user_id=0,
            query="",
            offset="",
            results=list(query.results),
            next_offset=query.next_offset or "",
            cache_time=query.cache_time,
            is_personal=bool(query.private),
            switch_pm_text=switch.text if switch else None,
            switch_pm_parameter=switch.start_param if switch else None,
        )
        return True

"""Fault injection on the double: the next calls of a method fail with a given error."""

from __future__ import annotations

from collections.abc import Callable

from pyrogram.errors import (
    FloodWait,
)

from testkit.double.limits import Fault
from testkit.double.state import (
    DoubleState,
)


class Faults(DoubleState):
    """Tests say which calls fail and how."""

    def fail(
        self,
        method: str | None = None,
        *,
        error: Callable[[], BaseException] | BaseException,
        times: int = 1,
        chat_id: int | None = None,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` (e.g. "SendMessage", "GetMessages"; None = any),
        optionally only for `chat_id`, raise `error`; `after`: that many matching calls
        succeed first (a FloodWait in the middle of an index job)."""
        if isinstance(error, BaseException):
            instance = error

            def make() -> BaseException:
                return instance

            self._faults.append(Fault(method, chat_id, make, times, after))
        else:
            self._faults.append(Fault(method, chat_id, error, times, after))

    def flood_wait(
        self,
        method: str,
        seconds: int,
        *,
        times: int = 1,
        chat_id: int | None = None,
        after: int = 0,
    ) -> None:
        self.fail(
            method,
            error=lambda: FloodWait(value=seconds),
            times=times,
            chat_id=chat_id,
            after=after,
        )

    def clear_faults(self) -> None:
        """Every injected fault is gone: calls succeed again."""
        self._faults.clear()

    def _injected_fault(self, name: str, chat_id: int | None) -> BaseException | None:
        for fault in self._faults:
            if fault.remaining <= 0:
                continue
            if fault.method is not None and fault.method not in (name, name.rsplit(".", 1)[-1]):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.remaining -= 1
            return fault.error()
        return None

"""The `prompts` collection: the decision taken on a confirmation message (index this? send
that?), so a second press of one of its buttons (two admins, a double tap, an old client that
still shows them) cannot act again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from repositories.mongo import Database, storage_errors

__all__ = ["MongoPromptRepository"]


class MongoPromptRepository:
    """`{_id: "<chat id>:<message id>", decision, by, at}`; the `_id` makes the first
    decision the only one, whichever process takes it. A record is about 80 bytes, one per
    answered confirmation; they are kept (an old client may still show the buttons)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _prompts(self) -> Any:
        return self._database.collection("prompts")

    async def decide(
        self, chat_id: int, message_id: int, decision: str, by: int, at: datetime
    ) -> str | None:
        """Record `decision` for the prompt unless one was recorded: None when this call
        decided, else the decision taken before."""
        key = f"{chat_id}:{message_id}"
        with storage_errors("prompts.decide"):
            try:
                await self._prompts.insert_one(
                    {"_id": key, "decision": decision, "by": by, "at": at}
                )
            except DuplicateKeyError:
                doc = await self._prompts.find_one({"_id": key}) or {}
                return str(doc.get("decision", decision))
        return None

    async def forget(self, chat_id: int, message_id: int) -> None:
        """Undo a decision whose action failed, so the prompt can be answered again."""
        with storage_errors("prompts.forget"):
            await self._prompts.delete_one({"_id": f"{chat_id}:{message_id}"})

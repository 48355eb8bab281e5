"""The `channels` collection: the channels whose posts the bot indexes.

One document per channel the library knows: `state` "added" (by `/addchannel`), "removed" (by
`/removechannel`: never indexed again, whatever `CHANNELS` says) or "seen" (indexed because
`CHANNELS` names it, or because `CHANNELS` is empty); its title when known and the highest post
id indexed from it (`last_post`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.models import LibraryChannel
from repositories.mongo import Database, storage_errors

__all__ = ["INDEXES", "MongoChannelRepository"]

INDEXES = ()  # a few documents: read whole at start


class MongoChannelRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _channels(self) -> Any:
        return self._database.collection("channels")

    async def all(self) -> list[LibraryChannel]:
        with storage_errors("channels.all"):
            docs = await self._channels.find().to_list(None)
        return [
            LibraryChannel(
                chat_id=int(d["_id"]),
                state=str(d.get("state", "seen")),
                title=d.get("title"),
                username=d.get("username"),
                last_post=int(d.get("last_post", 0)),
                updated_at=d.get("updated_at"),
            )
            for d in docs
        ]

    async def set_state(
        self, chat_id: int, state: str, now: datetime, *, title: str | None, username: str | None
    ) -> None:
        fields: dict[str, object] = {"state": state, "updated_at": now}
        if title is not None:
            fields["title"] = title
        if username is not None:
            fields["username"] = username.lower()
        with storage_errors("channels.set_state"):
            await self._channels.update_one({"_id": chat_id}, {"$set": fields}, upsert=True)

    async def note_post(
        self,
        chat_id: int,
        message_id: int,
        now: datetime,
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> None:
        """A file of post `message_id` was indexed: remember the highest post id (and the
        channel's title and username, when the caller knows them)."""
        fields: dict[str, object] = {"updated_at": now}
        if title is not None:
            fields["title"] = title
        if username is not None:
            fields["username"] = username.lower()
        with storage_errors("channels.note_post"):
            await self._channels.update_one(
                {"_id": chat_id},
                {
                    "$max": {"last_post": message_id},
                    "$set": fields,
                    "$setOnInsert": {"state": "seen"},
                },
                upsert=True,
            )

"""`DoubleClient`: a real Pyrogram `Client` whose network is the double."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyrogram import Client
from pyrogram.errors import FloodWait, InternalServerError, ServiceUnavailable
from pyrogram.raw.core import TLObject
from pyrogram.session import Session

if TYPE_CHECKING:
    from testkit.telegram import TelegramDouble


class DoubleClient(Client):
    """A real Pyrogram `Client` with in-memory storage whose network is the double."""

    def __init__(self, double: TelegramDouble, *, workers: int = 4, **kwargs: Any) -> None:
        super().__init__(
            "double",
            api_id=1,
            api_hash="0" * 32,
            bot_token=f"{double.bot.id}:{'A' * 35}",
            in_memory=True,
            workers=workers,
            **kwargs,
        )
        self.double = double
        double.client = self

    async def connect(self) -> bool:
        if self.is_connected:
            raise ConnectionError("Client is already connected")
        await self.storage.open()  # type: ignore[no-untyped-call]  # unannotated upstream
        await self.storage.dc_id(2)
        await self.storage.api_id(1)
        await self.storage.test_mode(False)
        await self.storage.auth_key(b"\x00" * 256)
        await self.storage.user_id(self.double.bot.id)
        await self.storage.is_bot(True)
        await self.storage.date(0)
        self.is_connected = True
        return True

    async def disconnect(self) -> None:
        if not self.is_connected:
            raise ConnectionError("Client is already disconnected")
        if self.is_initialized:
            raise ConnectionError("Can't disconnect an initialized client")
        await self.storage.close()  # type: ignore[no-untyped-call]  # unannotated upstream
        self.is_connected = False

    async def get_session(self, *args: Any, **kwargs: Any) -> Any:
        """Uploads and downloads use a media session of their own: here it is the double too."""
        return _DoubleSession(self)

    async def invoke(
        self,
        query: TLObject[Any],
        retries: int = Session.MAX_RETRIES,
        timeout: float = Session.WAIT_TIMEOUT,
        sleep_threshold: float | None = None,
        retry_delay: float = Session.RETRY_DELAY,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Like `Client.invoke`, with the double as the session, which behaves like Pyrogram's
        (`Session.invoke`): a FloodWait is slept through on the double's clock and the request
        sent again unless it is longer than `sleep_threshold` (the client's, 10 s by default;
        a negative threshold, as `get_messages` passes, sleeps through any); an internal
        server error or a broken connection is retried after `retry_delay`; after `retries`
        attempts the caller gets a `TimeoutError`."""
        threshold = self.sleep_threshold if sleep_threshold is None else sleep_threshold
        name = type(query).QUALNAME.removeprefix("functions.")
        for _ in range(retries):
            try:
                result = await self.double.invoke(query)
                break
            except FloodWait as exc:
                wait = float(exc.value) if isinstance(exc.value, int | float) else 0.0
                if wait > threshold >= 0:
                    raise
                self.double.slept_through.append(wait)
                await self.double.clock.sleep(wait)
            except (OSError, InternalServerError, ServiceUnavailable):
                await self.double.clock.sleep(retry_delay)
        else:
            raise TimeoutError(f'Failed to invoke "{name}" after {retries} retries')
        await self.fetch_peers(getattr(result, "users", []))
        await self.fetch_peers(getattr(result, "chats", []))
        return result


class _DoubleSession:
    """What `Client.get_session` returns for uploads: requests go to the double."""

    def __init__(self, client: DoubleClient) -> None:
        self._client = client

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def invoke(self, query: TLObject[Any], *args: Any, **kwargs: Any) -> Any:
        return await self._client.invoke(query, *args, **kwargs)

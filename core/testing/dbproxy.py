"""A TCP proxy in front of the test database, to make it fail on demand.

`up` forwards bytes both ways. `refuse()` stops listening and drops every open connection (the
driver sees "connection refused"). `hang()` keeps connections open but forwards nothing, like a
black-holed network: requests get no answer until the driver's timeout. `restore()` comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum

__all__ = ["DatabaseProxy", "ProxyMode"]

_CHUNK = 65_536


class ProxyMode(StrEnum):
    UP = "up"
    REFUSE = "refuse"
    HANG = "hang"


class DatabaseProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._port = 0
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.mode = ProxyMode.UP

    @property
    def uri(self) -> str:
        # directConnection: the driver must not follow the server's own address (a replica
        # set member names itself in `hello`) around the proxy.
        return f"mongodb://127.0.0.1:{self._port}/?directConnection=true"

    async def start(self) -> str:
        await self._listen()
        return self.uri

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Connections are refused, and the open ones drop."""
        self.mode = ProxyMode.REFUSE
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._drop_all()

    def hang(self) -> None:
        """Connections stay open, but nothing is answered (a black-holed network)."""
        self.mode = ProxyMode.HANG
        self._flowing.clear()

    async def restore(self) -> None:
        """Back to normal. Connections that hung are dropped (their replies are long stale)."""
        if self.mode is ProxyMode.HANG:
            self._drop_all()
        self.mode = ProxyMode.UP
        self._flowing.set()
        if self._server is None:
            await self._listen()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        self._drop_all()
        self._flowing.set()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is ProxyMode.REFUSE:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        for task in pipes:
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(_CHUNK):
                await self._flowing.wait()  # while hanging, bytes wait here, unanswered
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

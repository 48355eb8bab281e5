"""A TCP proxy in front of the test database, to make it fail on demand.

`up` forwards bytes both ways. `refuse()` stops listening and drops every open connection (the
driver sees "connection refused"). `hang()` keeps connections open but forwards nothing, like a
black-holed network: requests get no answer until the driver's timeout. `restore()` comes back.

It also reads the commands the bot sends (MongoDB's OP_MSG: the first field of the command
document names the command and its collection): `hold("insert", collection="files")` keeps the
next such command waiting until `release()`, to make a write land in the middle of something
else. `stop_abruptly_at("update", collection="jobs", after=n)` refuses the database (as
`refuse()`) the moment the (n + 1)-th such command arrives, before it reaches the server: the
bot loses its database between two writes of its own. With `counting` on, `commands` counts
every command by (command, collection): what a benchmark costs the database, background work
included.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["DatabaseProxy", "HeldCommand", "ProxyMode"]

_CHUNK = 65_536
_HEADER = 16  # messageLength, requestID, responseTo, opCode
_OP_MSG = 2013
_BSON_STRING = 0x02


class ProxyMode(StrEnum):
    UP = "up"
    REFUSE = "refuse"
    HANG = "hang"


@dataclass(eq=False)
class HeldCommand:
    """A command the proxy keeps waiting (see `DatabaseProxy.hold`)."""

    command: str
    collection: str | None
    skip: int
    _reached: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    stops: bool = False  # `stop_abruptly_at`: the database is refused instead of held

    async def reached(self) -> None:
        """Return once the command has arrived and is being held."""
        await self._reached.wait()

    def release(self) -> None:
        """Let the command through to the server."""
        self._released.set()

    @property
    def happened(self) -> bool:
        """Whether the command has arrived (and is held, or stopped the database)."""
        return self._reached.is_set()


def command_of(message: bytes) -> tuple[str, str | None] | None:
    """(command, collection) of an OP_MSG request, e.g. ("update", "jobs"); None for other
    messages. The collection is the command's value when it is a string."""
    if len(message) < _HEADER + 5 + 5:
        return None
    (op_code,) = struct.unpack_from("<i", message, 12)
    if op_code != _OP_MSG or message[_HEADER + 4] != 0:  # section kind 0: the command body
        return None
    start = _HEADER + 5 + 4  # the body's first element: type, name, value
    kind = message[start]
    end = message.find(b"\0", start + 1)
    if end < 0:
        return None
    name = message[start + 1 : end].decode("utf-8", "replace")
    if kind != _BSON_STRING:
        return name, None
    (size,) = struct.unpack_from("<i", message, end + 1)
    value = message[end + 5 : end + 5 + size - 1].decode("utf-8", "replace")
    return name, value


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
        self._holds: list[HeldCommand] = []
        self.counting = False
        self.commands: Counter[tuple[str, str | None]] = Counter()  # while `counting`

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
        self._drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def hang(self) -> None:
        """Connections stay open, but nothing is answered (a black-holed network)."""
        self.mode = ProxyMode.HANG
        self._flowing.clear()

    def hold(self, command: str, *, collection: str | None = None, after: int = 0) -> HeldCommand:
        """Keep the (`after` + 1)-th `command` (of `collection`, if given) from now on waiting
        before the server until the returned handle's `release()`; the connection carrying it
        waits too, others flow."""
        held = HeldCommand(command, collection, after)
        self._holds.append(held)
        return held

    def stop_abruptly_at(
        self, command: str, *, collection: str | None = None, after: int = 0
    ) -> HeldCommand:
        """Refuse the database (as `refuse()`) when the (`after` + 1)-th `command` (of
        `collection`, if given) from now on arrives: that command never reaches the server,
        nor does anything after it until `restore()`. `await handle.reached()` waits for it."""
        held = HeldCommand(command, collection, after, stops=True)
        self._holds.append(held)
        return held

    async def _inspect(self, message: bytes) -> bool:
        """Hold a request that a `hold` names until it is released; False when a
        `stop_abruptly_at` names it (the database is now refused: do not forward it)."""
        named = command_of(message)
        if named is None:
            return True
        for held in list(self._holds):
            if _matches(held, named):
                if held.skip > 0:
                    held.skip -= 1
                    continue
                self._holds.remove(held)
                held._reached.set()
                if held.stops:
                    await self.refuse()
                    return False
                await held._released.wait()
        return True

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
            asyncio.create_task(self._pipe(reader, up_writer, requests=True)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        for task in pipes:
            task.add_done_callback(self._pipes.discard)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        requests: bool = False,
    ) -> None:
        """Forward bytes; the bot's side (`requests`) by whole messages, each inspected."""
        try:
            while data := await (_message(reader) if requests else reader.read(_CHUNK)):
                await self._flowing.wait()  # while hanging, bytes wait here, unanswered
                if requests and self.counting and (named := command_of(data)) is not None:
                    self.commands[named] += 1
                if requests and self._holds and not await self._inspect(data):
                    return
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


async def _message(reader: asyncio.StreamReader) -> bytes:
    """One whole wire-protocol message (its header says how long it is)."""
    header = await reader.readexactly(_HEADER)
    (length,) = struct.unpack_from("<i", header)
    return header + await reader.readexactly(max(0, length - _HEADER))


def _matches(rule: HeldCommand, named: tuple[str, str | None]) -> bool:
    command, collection = named
    return rule.command == command and rule.collection in (None, collection)

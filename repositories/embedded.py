"""The embedded MongoDB-wire server (SecantusDB on WiredTiger) run as a child process.

Run as `python -m repositories.embedded STORAGE_PATH [CACHE_SIZE]`: it binds a free loopback
port, prints one JSON line `{"port": N}` on stdout, and serves until its stdin closes or it gets
SIGTERM. Closing stdin as the stop signal means the server also stops when the bot dies without
cleaning up.

It is one node for one bot, so it runs as a standalone server, not a one-member replica set: no
oplog is written beside every write (the bot reads its changes from its own change numbers, and
uses neither change streams nor transactions). SecantusDB caps its oplog at 100,000 entries and
trims the oldest on every write, by a walk that grows with the entries trimmed before: past a
hundred thousand writes, inserts slowed (3,600/s by 200,000 against 6,400/s standalone), and
after 100,000 inserts and the drop of their collection each bulk write took seconds (#45, the
import benchmark). Its URI turns retryable writes off too (`retryWrites=false`): a retried
write is only useful when a replica set fails over, and the server's bookkeeping of every write
for retries was most of its work under load. `CACHE_SIZE` is WiredTiger's cache
(`EMBEDDED_DB_CACHE`; SecantusDB's own default is 1 GB).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from core.utils.errors import StorageError

__all__ = ["EmbeddedServer"]

_LOG_NAME = "embedded-db.log"
DEFAULT_CACHE = "128M"
URI_OPTIONS = "retryWrites=false"  # one node: nothing to retry a write on
_PROJECT_ROOT = Path(__file__).resolve().parent.parent  # so `-m repositories.embedded` imports


class EmbeddedServer:
    """Starts and stops the embedded server for one storage directory."""

    def __init__(self, storage_path: Path, *, cache_size: str = DEFAULT_CACHE) -> None:
        self.storage_path = storage_path
        self.cache_size = cache_size
        self.port: int | None = None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise RuntimeError("embedded server is not running")
        return f"mongodb://127.0.0.1:{self.port}/?{URI_OPTIONS}"

    @property
    def log_path(self) -> Path:
        return self.storage_path.parent / _LOG_NAME

    async def start(self, timeout: float = 30.0) -> str:
        """Start the server and return its URI; `StorageError` if it does not come up in time."""
        await asyncio.to_thread(self.storage_path.mkdir, parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "repositories.embedded",
                str(self.storage_path),
                self.cache_size,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=_PROJECT_ROOT,
            )
        assert self._process.stdout is not None  # noqa: S101 - set by PIPE above
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
            self.port = int(json.loads(line)["port"])
        except (TimeoutError, ValueError, KeyError) as exc:
            await self.stop()
            raise StorageError(
                "start_embedded",
                f"the embedded database did not start; see {self.log_path}: {self._log_tail()}",
            ) from exc
        return self.uri

    async def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (closing its stdin), killing it if it does not exit in time."""
        process, self._process = self._process, None
        self.port = None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][-300:] if lines else "no output"


def _serve(storage_path: str, cache_size: str = DEFAULT_CACHE) -> int:
    """Child-process entry point."""
    import logging  # noqa: PLC0415 - only the child needs these
    import socket  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from secantus import SecantusDBServer  # noqa: PLC0415 - heavy import, child only

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    server = SecantusDBServer(
        host="127.0.0.1",
        port=0,
        storage_path=storage_path,
        enable_test_commands=False,
        cache_size=cache_size,
        replica_set_name=None,  # standalone: no oplog (the module's docstring says why)
    )
    server.start()
    stopped = threading.Event()

    def _stop(*_: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop

    def _wait_for_stdin_eof() -> None:
        sys.stdin.read()
        stopped.set()

    threading.Thread(target=_wait_for_stdin_eof, daemon=True).start()
    print(json.dumps({"port": server.port}), flush=True)  # noqa: T201 - the handshake line
    stopped.wait()
    # SecantusDBServer.stop() joins its accept thread for up to 2 s because closing a listening
    # socket does not wake a blocked accept() on Linux; shutting it down first does.
    with contextlib.suppress(Exception):
        server._stop_event.set()
        server._socket.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(_serve(*sys.argv[1:3]))

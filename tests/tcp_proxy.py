"""A TCP proxy for tests: what a database restart does to its clients, without touching the
database.

:class:`TcpProxy` listens on a loopback port and pipes each connection to a target (PostgreSQL).
:meth:`TcpProxy.cut` closes every connection and refuses new ones (each is accepted and reset at
once, so no other process can take the port meanwhile): to its clients, the server went away.
:meth:`TcpProxy.restore` lets connections through again. :meth:`TcpProxy.refuse` refuses new
connections past a number, leaving those open alone: a server lost between two connections of a
process that is starting. It runs an asyncio loop in a thread of its own, so a test that waits
on processes (or runs its own loop) drives it with plain calls.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

CHUNK = 64 * 1024


class TcpProxy:
    """Pipes connections from ``127.0.0.1:<port>`` to ``host:port`` until cut (see the module
    docstring). Use it as a context manager: it listens on entry and closes on exit."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        """The port it listens on (known once entered)."""
        self.accepted = 0
        """Connections piped to the target so far."""
        self.refused = 0
        """Connections reset on arrival so far (while cut, or past :meth:`refuse`'s number)."""
        self._allowed: int | None = None
        """How many more connections go through (None: every one)."""
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @classmethod
    def to(cls, url: str) -> TcpProxy:
        """A proxy to the host and port of a ``postgresql://`` URL."""
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by this proxy's (user, database and options
        kept)."""
        parts = urlsplit(url)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._server = self._call(
            asyncio.start_server(self._serve, "127.0.0.1", 0, family=socket.AF_INET)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    @property
    def open(self) -> int:
        """Connections open through the proxy now."""
        return self._call(self._count())

    def cut(self) -> None:
        """Close every connection (each end reset at once) and refuse new ones until
        :meth:`restore`."""
        self._call(self._cut())

    def refuse(self, after: int = 0) -> None:
        """Let ``after`` more connections through, then refuse new ones until :meth:`restore`;
        the connections open now stay open."""
        self._call(self._set_allowed(after))

    def restore(self) -> None:
        """Let every new connection through again."""
        self._call(self._set_allowed(None))

    def _call(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _count(self) -> int:
        return len(self._open) // 2

    async def _set_allowed(self, allowed: int | None) -> None:
        self._allowed = allowed

    async def _cut(self) -> None:
        self._allowed = 0
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _close(self) -> None:
        await self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._allowed is not None and self._allowed <= 0:
            self.refused += 1
            writer.transport.abort()
            return
        if self._allowed is not None:
            self._allowed -= 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.accepted += 1
        self._open |= {writer, up_writer}
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for end in (writer, up_writer):
                end.transport.abort()
                self._open.discard(end)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy ``source`` to ``sink`` until either end closes."""
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, OSError):
        return

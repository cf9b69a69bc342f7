"""An asyncio stream server on a loopback port, on an event loop of its own in a thread: the
shape every hand-written fake (upstreams, proxy, TLS front) shares."""

from __future__ import annotations

import asyncio
import ssl
import threading
from typing import Self

__all__ = ["ThreadedStreamServer"]


class ThreadedStreamServer:
    """Base of fakes that speak a protocol by hand: ``with fake:`` starts it on
    ``host:port`` (loopback unless a subclass sets ``host``) and stops it (open connections
    in ``_writers`` are aborted). Subclasses set ``port``, call ``_init_server`` and
    implement ``_serve``."""

    port: int
    host: str = "127.0.0.1"  # an address of another interface to serve there instead
    _server_ssl: ssl.SSLContext | None = None

    def _init_server(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=self._server_ssl
        )

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

"""A TCP relay: connections to ``host:port`` are forwarded to ``target_host:target_port``.

For a server that listens on loopback only (the machine's RabbitMQ) that processes in
another network namespace must reach: the relay listens on an address they can route to.
When either side of a connection closes or resets, the relay closes both, so the server
sees a client die as soon as the relay does.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from tests.support.net import free_port
from tests.support.threaded_server import ThreadedStreamServer

__all__ = ["TcpRelay"]


@dataclass
class TcpRelay(ThreadedStreamServer):
    """``with TcpRelay(target_host, target_port, host=address) as relay:`` -- connect to
    ``relay.host:relay.port``."""

    target_host: str
    target_port: int
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._init_server()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self._writers.discard(writer)
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        try:
            copies = [
                asyncio.ensure_future(_copy(reader, up_writer)),
                asyncio.ensure_future(_copy(up_reader, writer)),
            ]
            await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
            for copy in copies:
                copy.cancel()
        finally:
            for side in (writer, up_writer):
                self._writers.discard(side)
                side.transport.abort()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Bytes from ``reader`` to ``writer`` until EOF or an error on either."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

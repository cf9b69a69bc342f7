"""A TCP forwarder on loopback that holds every chunk a client sends for ``delay_s``: a slow
network to a real server (Redis, Postgres), so a test can act while a client is mid-way
through a sequence of round trips."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from tests.support.net import free_port
from tests.support.threaded_server import ThreadedStreamServer
from tests.support.tls import pipe

__all__ = ["SlowProxy"]


@dataclass
class SlowProxy(ThreadedStreamServer):
    """``with SlowProxy(target_port, delay_s=0.05) as proxy:`` -- connect to ``proxy.port``."""

    target_port: int
    delay_s: float
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._init_server()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._slowly(reader, up_writer), pipe(up_reader, writer))

    async def _slowly(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
            writer.close()

"""A forward HTTP proxy on loopback, in a background thread: ``CONNECT`` and absolute form.

What a corporate proxy does, small: ``CONNECT host:port`` opens a TCP tunnel (the client
then speaks TLS to the origin through it); ``POST http://host:port/path`` is forwarded to
the origin with the request line rewritten to origin form and ``Proxy-Authorization``
removed. With ``credentials`` it answers 407 to requests without the matching Basic
``Proxy-Authorization``. It records what it was asked, so a test can assert the traffic
really went through it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from tests.support.net import free_port
from tests.support.threaded_server import ThreadedStreamServer
from tests.support.tls import pipe

__all__ = ["ConnectProxy", "ProxiedRequest"]


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy saw: ``CONNECT`` (target ``host:port``) or an absolute URL."""

    method: str
    target: str
    authorization: str | None


@dataclass
class ConnectProxy(ThreadedStreamServer):
    """``with ConnectProxy() as proxy:`` -- ``proxy.url`` is ``http://127.0.0.1:PORT``."""

    credentials: tuple[str, str] | None = None
    port: int = field(default_factory=free_port)
    requests: list[ProxiedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._init_server()

    @property
    def url(self) -> str:
        if self.credentials is None:
            return f"http://127.0.0.1:{self.port}"
        user, password = (quote(part, safe="") for part in self.credentials)
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def connects(self) -> list[str]:
        return [r.target for r in self.requests if r.method == "CONNECT"]

    def _authorized(self, value: str | None) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return value == f"Basic {expected}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await _read_head(reader)
            if head is None:
                return
            method, target, headers = head
            authorization = headers.get("proxy-authorization")
            self.requests.append(ProxiedRequest(method, target, authorization))
            if not self._authorized(authorization):
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\ncontent-length: 0\r\n\r\n'
                )
                await writer.drain()
                return
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(method, target, headers, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, _, port = target.rpartition(":")
        try:
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            return
        self._writers.add(up_writer)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _forward(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        origin = urlsplit(target)
        if origin.scheme != "http" or not origin.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.open_connection(origin.hostname, origin.port or 80)
        self._writers.add(up_writer)
        back = asyncio.create_task(pipe(up_reader, writer))
        try:
            while True:  # keep-alive: every request on this connection, rewritten
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path = target[len(f"{origin.scheme}://{origin.netloc}") :] or "/"
                lines = [f"{method} {path} HTTP/1.1"]
                lines += [f"{k}: {v}" for k, v in headers.items() if k != "proxy-authorization"]
                up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
                await up_writer.drain()
                head = await _read_head(reader)
                if head is None:
                    return
                method, target, headers = head
                authorization = headers.get("proxy-authorization")
                self.requests.append(ProxiedRequest(method, target, authorization))
        finally:
            back.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await back
            self._writers.discard(up_writer)
            up_writer.transport.abort()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, target, headers

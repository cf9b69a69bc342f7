"""The upstream HTTP client: one keep-alive connection pool per gateway process.

Why not httpx or aiohttp: the gateway makes one upstream call per request, so the client's
own cost is most of the gateway's overhead. Measured on the 2-core dev machine (CPU time of
the gateway process per proxied request, see docs/performance.md): httpx ~3 ms, aiohttp
~0.2 ms, this client (httptools parser, asyncio protocol, no per-request objects beyond the
exchange) well under 0.1 ms. It does exactly what the adapters need: HTTP/1.1 requests
with a body, TLS, keep-alive reuse, streamed response bodies with backpressure, and
cancellation that closes the connection.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.providers.http._connection import Connection, Exchange
from gateway.providers.http._errors import HttpConnectError, HttpProtocolError, HttpTimeoutError

__all__ = ["HttpClient", "Response", "Url"]


@dataclass(frozen=True, slots=True)
class Url:
    """A parsed base URL; requests append a path to ``path``."""

    scheme: str
    host: str
    port: int
    path: str
    host_header: bytes

    @classmethod
    def parse(cls, url: str) -> Url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host_header = parts.hostname if port == default else f"{parts.hostname}:{port}"
        path = parts.path.rstrip("/")
        if parts.query:
            raise ValueError(f"a base URL has no query string: {url!r}")
        return cls(parts.scheme, parts.hostname, port, path, host_header.encode("idna"))

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


class Response:
    """Status and headers of an upstream response whose body is read as it arrives."""

    __slots__ = ("_exchange", "headers", "status")

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self.status = exchange.status
        self.headers = exchange.headers

    async def read(self) -> bytes:
        """The whole body."""
        parts: list[bytes] = []
        try:
            while (chunk := await self._exchange.next_chunk()) is not None:
                parts.append(chunk)
        except BaseException:
            self._exchange.abort()
            raise
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def iter_bytes(self, *, idle_timeout_s: float | None = None) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; at most ``idle_timeout_s`` between two pieces."""
        try:
            while True:
                if idle_timeout_s is None:
                    chunk = await self._exchange.next_chunk()
                else:
                    try:
                        async with asyncio.timeout(idle_timeout_s):
                            chunk = await self._exchange.next_chunk()
                    except TimeoutError:
                        raise HttpTimeoutError(
                            f"no data from the upstream for {idle_timeout_s:g}s",
                            response_started=True,
                        ) from None
                if chunk is None:
                    return
                yield chunk
        finally:
            self._exchange.abort()  # no-op once the body is complete

    def close(self) -> None:
        """Drop the rest of the body (closes the connection unless the body is complete)."""
        self._exchange.abort()


class HttpClient:
    """Built once per process; safe to share between all concurrent requests of its loop."""

    def __init__(
        self,
        *,
        max_idle_per_host: int = 256,
        idle_timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_idle = max_idle_per_host
        self._idle_timeout_s = idle_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._closed = False

    async def request(
        self,
        method: str,
        url: Url,
        path: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        timeout_s: float,
    ) -> Response:
        """Send a request; return once the response headers arrived (within ``timeout_s``).

        A connection taken from the idle pool that turns out to be closed by the server
        before anything came back is replaced by a new one, once.
        """
        head = _render_head(method, url, path, headers, len(body))
        try:
            async with asyncio.timeout(timeout_s):
                for attempt in (0, 1):
                    conn = await self._acquire(url)
                    exchange = conn.send(head + body if body else head)
                    try:
                        await exchange.head
                    except HttpConnectError:
                        if conn.reused and attempt == 0:
                            continue
                        raise
                    except BaseException:
                        exchange.abort()
                        raise
                    return Response(exchange)
        except TimeoutError:
            raise HttpTimeoutError(f"no response within {timeout_s:g}s") from None
        raise HttpConnectError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _acquire(self, url: Url) -> Connection:
        if self._closed:
            raise HttpConnectError("the HTTP client is closed")
        idle = self._idle.get(url.key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self._idle_timeout_s:
                return conn
            conn.abort()
        return await self._connect(url)

    async def _connect(self, url: Url) -> Connection:
        loop = asyncio.get_running_loop()
        key = url.key
        ssl_context: ssl.SSLContext | None = None
        if url.scheme == "https":
            if self._ssl is None:  # built once: loading the CA store takes milliseconds
                self._ssl = ssl.create_default_context()
            ssl_context = self._ssl
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop, lambda c: self._release(key, c)),
                    url.host,
                    url.port,
                    ssl=ssl_context,
                    server_hostname=url.host if ssl_context else None,
                )
        except TimeoutError:
            raise HttpConnectError(f"connecting to {url.host}:{url.port} timed out") from None
        except OSError as exc:
            raise HttpConnectError(f"cannot connect to {url.host}:{url.port}: {exc}") from exc
        return conn

    def _release(self, key: tuple[str, str, int], conn: Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if self._closed or len(idle) >= self._max_idle:
            conn.abort()
        else:
            idle.append(conn)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.abort()
        self._idle.clear()


def _render_head(
    method: str, url: Url, path: str, headers: Mapping[str, str], length: int
) -> bytes:
    lines = [
        f"{method} {url.path}{path} HTTP/1.1".encode(),
        b"Host: " + url.host_header,
        f"Content-Length: {length}".encode(),
    ]
    for name, value in headers.items():
        if "\n" in value or "\r" in value:
            raise HttpProtocolError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}".encode("latin-1"))
    lines.append(b"\r\n")
    return b"\r\n".join(lines)

"""The upstream HTTP client: keep-alive connections pooled per origin, one client per process.

Written on the httptools parser and asyncio protocols instead of using httpx or aiohttp, whose
per-request cost was most of the gateway's overhead (docs/performance.md). It does only what the
adapters need: HTTP/1.1 requests with a body, TLS, forward proxies (``_proxy``), keep-alive
reuse, streamed response bodies with backpressure, and cancellation that closes the connection.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.platform import tracing
from gateway.providers.http._connection import Connection, Exchange
from gateway.providers.http._errors import (
    HttpConnectError,
    HttpProtocolError,
    HttpTimeoutError,
    HttpTlsError,
)
from gateway.providers.http._proxy import Proxy, ProxyRules
from gateway.providers.http._tunnel import TransportOptions, build_ssl_context, open_tunnel

__all__ = ["HttpClient", "Response", "Url"]


@dataclass(frozen=True, slots=True)
class Url:
    """A parsed base URL; requests append a path to ``path``.

    ``options`` (a deployment's own proxy / TLS settings) is part of ``key``: origins with
    different options never share a pooled connection.
    """

    scheme: str
    host: str
    port: int
    path: str
    host_header: bytes
    options: TransportOptions | None = None
    key: str = ""

    @classmethod
    def parse(cls, url: str, options: TransportOptions | None = None) -> Url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        host = parts.hostname
        authority = f"[{host}]" if ":" in host else host
        host_header = authority if port == default else f"{authority}:{port}"
        path = parts.path.rstrip("/")
        if parts.query:
            raise ValueError(f"a base URL has no query string: {url!r}")
        key = f"{parts.scheme}://{authority}:{port}"
        if options is not None:
            key = f"{key} {options.key}"
        return cls(parts.scheme, host, port, path, host_header.encode("idna"), options, key)


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


class _Origin:
    """One upstream origin as this client reaches it: the route, chosen once, and the pool.

    ``absolute`` and ``host_line`` are the parts of a request head that depend on the
    route (absolute-form targets and ``Proxy-Authorization`` for a plain-http proxy), so a
    request costs the same with or without a proxy.
    """

    __slots__ = ("absolute", "host", "host_line", "idle", "port", "proxy", "ssl")

    def __init__(self, url: Url, proxy: Proxy | None, ssl_context: ssl.SSLContext | None):
        self.host = url.host
        self.port = url.port
        self.proxy = proxy
        self.ssl = ssl_context
        self.idle: list[Connection] = []
        self.absolute = ""  # the request target's scheme and authority, when it has them
        self.host_line = b"Host: " + url.host_header
        if proxy is not None and ssl_context is None:  # absolute form through the proxy
            self.absolute = f"http://{url.host_header.decode()}"
            if proxy.authorization is not None:
                self.host_line += f"\r\nProxy-Authorization: {proxy.authorization}".encode()


class HttpClient:
    """Built once per process; safe to share between all concurrent requests of its loop.

    ``proxies``: which forward proxy each origin goes through (default: none; the gateway
    builds them from ``providers.http`` and the environment). ``ca_bundle`` / ``verify``:
    the default TLS trust for https upstreams (the system store, verified);
    a ``Url``'s ``options`` override both per deployment.
    """

    def __init__(
        self,
        *,
        max_idle_per_host: int = 256,
        idle_timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        proxies: ProxyRules | None = None,
        ca_bundle: str | None = None,
        verify: bool = True,
    ) -> None:
        self._max_idle = max_idle_per_host
        self._idle_timeout_s = idle_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._proxies = proxies or ProxyRules()
        self._ca_bundle = ca_bundle
        self._verify = verify
        # built once each: loading a CA store takes milliseconds
        self._ssl: dict[tuple[str | None, bool], ssl.SSLContext] = {}
        if ssl_context is not None:
            self._ssl[(ca_bundle, verify)] = ssl_context
        self._origins: dict[str, _Origin] = {}
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
        origin = self._origins.get(url.key) or self._origin(url)
        if tracing.tracer() is not None:  # the current span (an attempt's) as traceparent
            headers = dict(headers)
            tracing.inject(headers)
        head = _render_head(method, origin, url, path, headers, len(body))
        try:
            async with asyncio.timeout(timeout_s):
                for attempt in (0, 1):
                    conn = await self._acquire(origin)
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

    def _origin(self, url: Url) -> _Origin:
        options = url.options or _NO_OPTIONS
        if options.proxy is None:
            proxy = self._proxies.select(url.scheme, url.host, url.port)
        elif options.proxy == "direct":
            proxy = None
        else:
            try:
                proxy = Proxy.parse(options.proxy)  # the gateway checked it at start
            except ValueError as exc:
                raise HttpConnectError(f"bad proxy for {url.host}:{url.port}: {exc}") from None
        ssl_context = None
        if url.scheme == "https":
            ca_bundle = options.ca_bundle or self._ca_bundle
            verify = self._verify if options.verify is None else options.verify
            ssl_context = self._ssl.get((ca_bundle, verify))
            if ssl_context is None:
                try:
                    ssl_context = build_ssl_context(ca_bundle=ca_bundle, verify=verify)
                except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                    raise HttpTlsError(f"cannot load the CA bundle {ca_bundle}: {exc}") from exc
                self._ssl[(ca_bundle, verify)] = ssl_context
        origin = self._origins[url.key] = _Origin(url, proxy, ssl_context)
        return origin

    async def _acquire(self, origin: _Origin) -> Connection:
        if self._closed:
            raise HttpConnectError("the HTTP client is closed")
        idle = origin.idle
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self._idle_timeout_s:
                return conn
            conn.abort()
        return await self._connect(origin)

    async def _connect(self, origin: _Origin) -> Connection:
        loop = asyncio.get_running_loop()
        where = f"{origin.host}:{origin.port}"
        proxy = origin.proxy
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                if proxy is None:
                    _, conn = await loop.create_connection(
                        lambda: Connection(loop, lambda c: self._release(origin, c)),
                        origin.host,
                        origin.port,
                        ssl=origin.ssl,
                        server_hostname=origin.host if origin.ssl else None,
                    )
                elif origin.ssl is not None:  # https through a proxy: CONNECT, then TLS
                    conn = await self._connect_tunnel(loop, origin, proxy, origin.ssl)
                else:
                    _, conn = await loop.create_connection(
                        lambda: Connection(loop, lambda c: self._release(origin, c)),
                        proxy.host,
                        proxy.port,
                    )
        except TimeoutError:
            raise HttpConnectError(f"connecting to {where} timed out{_via(origin)}") from None
        except ssl.SSLCertVerificationError as exc:
            raise HttpTlsError(
                f"TLS certificate verification failed for {where}: {exc.verify_message}"
            ) from exc
        except ssl.SSLError as exc:
            raise HttpTlsError(f"TLS handshake with {where} failed: {exc.reason}") from exc
        except OSError as exc:
            raise HttpConnectError(f"cannot connect to {where}{_via(origin)}: {exc}") from exc
        return conn

    async def _connect_tunnel(
        self,
        loop: asyncio.AbstractEventLoop,
        origin: _Origin,
        proxy: Proxy,
        ssl_context: ssl.SSLContext,
    ) -> Connection:
        raw = await open_tunnel(loop, proxy, origin.host, origin.port)
        conn = Connection(loop, lambda c: self._release(origin, c))
        try:
            tls = await loop.start_tls(raw, conn, ssl_context, server_hostname=origin.host)
        except BaseException:
            raw.abort()
            raise
        if tls is None:  # pragma: no cover - only for a loop closing under us
            raise HttpConnectError("the event loop is closing")
        conn.connection_made(tls)
        return conn

    def _release(self, origin: _Origin, conn: Connection) -> None:
        if self._closed or len(origin.idle) >= self._max_idle:
            conn.abort()
        else:
            origin.idle.append(conn)

    async def aclose(self) -> None:
        self._closed = True
        for origin in self._origins.values():
            for conn in origin.idle:
                conn.abort()
            origin.idle.clear()


_NO_OPTIONS = TransportOptions()


def _via(origin: _Origin) -> str:
    return f" through the proxy {origin.proxy.label}" if origin.proxy is not None else ""


def _render_head(
    method: str,
    origin: _Origin,
    url: Url,
    path: str,
    headers: Mapping[str, str],
    length: int,
) -> bytes:
    lines = [
        f"{method} {origin.absolute}{url.path}{path} HTTP/1.1".encode(),
        origin.host_line,
        f"Content-Length: {length}".encode(),
    ]
    for name, value in headers.items():
        if "\n" in value or "\r" in value:
            raise HttpProtocolError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}".encode("latin-1"))
    lines.append(b"\r\n")
    return b"\r\n".join(lines)

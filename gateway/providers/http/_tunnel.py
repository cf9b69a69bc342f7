"""An HTTP ``CONNECT`` tunnel through a proxy, and the TLS settings of upstream connections."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from gateway.providers.http._errors import HttpConnectError
from gateway.providers.http._proxy import Proxy

__all__ = ["TransportOptions", "build_ssl_context", "open_tunnel"]

_MAX_REPLY = 16 * 1024


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """One deployment's own way to its upstream; ``None`` fields use the client's defaults.

    ``proxy``: a proxy URL, or ``"direct"`` for none (the environment's proxy is then not
    used either). ``ca_bundle``: a PEM file of CAs trusted instead of the system store.
    ``verify``: False turns certificate verification off.
    """

    proxy: str | None = None
    ca_bundle: str | None = None
    verify: bool | None = None

    @property
    def key(self) -> str:
        """Tells apart connection pools that must not share connections."""
        return f"{self.proxy}|{self.ca_bundle}|{self.verify}"


def build_ssl_context(*, ca_bundle: str | None, verify: bool) -> ssl.SSLContext:
    """The system trust store, or ``ca_bundle`` in its place; no verification if not ``verify``."""
    context = ssl.create_default_context(cafile=ca_bundle)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _Handshake(asyncio.Protocol):
    """Collects the proxy's reply to ``CONNECT`` (a status line and headers, no body)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, proxy: Proxy) -> None:
        self.reply: asyncio.Future[bytes] = loop.create_future()
        self._proxy = proxy
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        if self.reply.done():
            return
        self._buffer += data
        if b"\r\n\r\n" in self._buffer:
            self.reply.set_result(self._buffer)
        elif len(self._buffer) > _MAX_REPLY:
            self.reply.set_exception(
                HttpConnectError(f"the proxy {self._proxy.label} sent an oversized CONNECT reply")
            )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.reply.done():
            self.reply.set_exception(
                HttpConnectError(f"the proxy {self._proxy.label} closed the connection to CONNECT")
            )


async def open_tunnel(
    loop: asyncio.AbstractEventLoop, proxy: Proxy, host: str, port: int
) -> asyncio.Transport:
    """A TCP connection to ``host:port`` through ``proxy``, ready for TLS to the origin."""
    try:
        transport, handshake = await loop.create_connection(
            lambda: _Handshake(loop, proxy), proxy.host, proxy.port
        )
    except OSError as exc:
        raise HttpConnectError(f"cannot connect to the proxy {proxy.label}: {exc}") from exc
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    try:
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        reply = await handshake.reply
        head, _, rest = reply.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        status = status_line.split(" ", 2)
        if len(status) < 2 or not status[0].startswith("HTTP/") or not status[1].isdigit():
            raise HttpConnectError(
                f"the proxy {proxy.label} answered CONNECT with {status_line[:80]!r}"
            )
        if not 200 <= int(status[1]) < 300:
            hint = " (check the proxy credentials)" if status[1] == "407" else ""
            raise HttpConnectError(
                f"the proxy {proxy.label} refused CONNECT {authority}: {status_line[:80]}{hint}"
            )
        if rest:  # the origin cannot speak before our TLS ClientHello
            raise HttpConnectError(f"the proxy {proxy.label} sent data after its CONNECT reply")
    except BaseException:
        transport.abort()
        raise
    return transport

"""uvicorn's httptools protocol with its writes coalesced per event-loop turn.

uvicorn writes a response's head and its body with one socket write each, and every SSE
event with another. A write to a loopback or LAN socket is a system call of several
microseconds plus the kernel's work for one more packet. Here a connection's writes made in
one turn of the event loop go out as one write at the end of that turn: a JSON response is
one write instead of two, and stream events that arrive together from the upstream (one read
holding several events) leave together. Nothing waits longer than the current loop turn;
more than ``_FLUSH_BYTES`` pending goes out at once, so flow control (pause/resume writing)
still sees big bodies as they are written.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingHttpToolsProtocol"]

_FLUSH_BYTES = 64 * 1024


class _CoalescingTransport:
    """Wraps a transport: ``write`` collects until the loop turn ends; the rest delegates."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending, self._size = [], 0
        if not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending, self._size = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """The gateway's HTTP/1.1 protocol: uvicorn's, over a coalescing transport.

    A response that is complete leaves at once: the handler goes on with its after-response
    work (usage, quota settlement, metrics, the access log) in the same loop turn, and the
    client should not wait for it.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._coalescing = _CoalescingTransport(transport, self.loop)
        super().connection_made(self._coalescing)  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self._coalescing.flush()
        super().on_response_complete()

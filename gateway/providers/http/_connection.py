"""One keep-alive HTTP/1.1 connection: an asyncio protocol fed through httptools' parser.

httptools (the parser uvicorn uses) does the parsing and chunked decoding in C; this module
only tracks one exchange at a time and hands body bytes to the response as they arrive.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import cast

import httptools

from gateway.providers.http._errors import HttpConnectError, HttpError, HttpProtocolError

__all__ = ["Connection", "Exchange"]

_PAUSE_ABOVE = 256 * 1024  # buffered, unread stream bytes before we stop reading the socket


class Exchange:
    """The response side of one request on a connection."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_conn",
        "_error",
        "_waiter",
        "complete",
        "head",
        "headers",
        "started",
        "status",
    )

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.head: asyncio.Future[None] = conn.loop.create_future()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.started = False
        self.complete = False
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: HttpError | None = None

    # -- fed by the protocol -------------------------------------------------
    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _PAUSE_ABOVE:
            self._conn.pause()
        self._wake()

    def _finish(self) -> None:
        self.complete = True
        self._wake()

    def _fail(self, error: HttpError) -> None:
        if self.complete:
            return
        self._error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # a timed-out caller may never look; do not warn about it
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the response ------------------------------------------------
    async def next_chunk(self) -> bytes | None:
        """The next body bytes, or None at the end of the body."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self.complete:
                return None
            self._waiter = self._conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._buffered <= _PAUSE_ABOVE:
            self._conn.resume()
        return data

    def abort(self) -> None:
        """Give up on the rest of the response: the connection cannot be reused."""
        if not self.complete:
            self._conn.abort()


class Connection(asyncio.Protocol):
    """A client connection that serves one exchange at a time and can be reused after it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_idle: Callable[[Connection], None]):
        self.loop = loop
        self._on_idle = on_idle
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._exchange: Exchange | None = None
        self._paused = False
        self.closed = False
        self.idle_since = time.monotonic()
        self.reused = False

    # -- asyncio.Protocol ----------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpProtocolError(f"invalid HTTP response: {exc}", response_started=True))
            self.abort()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost reports an unfinished exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        exchange = self._exchange
        if exchange is not None and not exchange.complete:
            if exchange.started and _delimited_by_close(exchange.headers):
                exchange._finish()  # an HTTP/1.0-style body: it ends where the connection does
            elif exchange.started:
                error: HttpError = HttpProtocolError(
                    "the upstream closed the connection in the middle of a response",
                    response_started=True,
                )
            else:
                reason = f": {exc}" if exc else ""
                error = HttpConnectError(f"the upstream closed the connection{reason}")
            exchange._fail(error)
        self._exchange = None

    # -- httptools callbacks -------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        if self._exchange is not None:
            self._exchange.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        exchange = self._exchange
        if exchange is not None:
            exchange.status = self._parser.get_status_code()
            exchange.started = True
            if not exchange.head.done():
                exchange.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self._exchange is not None:
            self._exchange._feed(body)

    def on_message_complete(self) -> None:
        exchange = self._exchange
        self._exchange = None
        if exchange is not None:
            exchange._finish()
        if self._parser.should_keep_alive() and not self.closed:
            self.resume()
            self.reused = True
            self.idle_since = time.monotonic()
            self._on_idle(self)
        else:
            self.abort()

    # -- used by the client --------------------------------------------------
    def send(self, data: bytes) -> Exchange:
        if self.closed or self._transport is None or self._transport.is_closing():
            raise HttpConnectError("connection is closed")
        exchange = Exchange(self)
        self._exchange = exchange
        self._transport.write(data)
        return exchange

    def _fail(self, error: HttpError) -> None:
        if self._exchange is not None:
            self._exchange._fail(error)

    def pause(self) -> None:
        if not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self._transport is not None and not self._transport.is_closing():
            self._paused = False
            self._transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()


def _delimited_by_close(headers: dict[str, str]) -> bool:
    return "content-length" not in headers and "transfer-encoding" not in headers

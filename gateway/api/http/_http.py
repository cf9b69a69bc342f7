"""uvicorn's httptools protocol as the gateway runs it: request heads bounded, writes coalesced.

- ``BoundedHeadHttpToolsProtocol`` counts a head's bytes before httptools sees them (its parser
  would buffer an unended header without bound) and its headers in the parser's callbacks: over
  ``gateway.max_header_bytes`` or ``gateway.max_headers`` is a 431 and the connection closes,
  after the response in progress when pipelined requests came first.
- ``CoalescingHttpToolsProtocol`` sends a connection's writes of one event-loop turn as one write
  at the end of that turn, and at once past ``_FLUSH_BYTES``, so flow control still sees big bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from configs import GatewaySettings
from gateway.platform.errors import error_body
from gateway.policy.observability import new_request_id

__all__ = [
    "DEFAULT_HEAD_LIMITS",
    "BoundedHeadHttpToolsProtocol",
    "CoalescingHttpToolsProtocol",
    "HeadLimits",
]

_log = logging.getLogger("uvicorn.error")

_FLUSH_BYTES = 64 * 1024
_LINGER_S = 2.0  # how long a refused client may go on sending before the connection closes


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


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """How large a request head may be: bytes of its request line and headers, and headers."""

    max_bytes: int
    max_count: int

    @classmethod
    def from_settings(cls, gateway: GatewaySettings) -> HeadLimits:
        return cls(max_bytes=gateway.max_header_bytes, max_count=gateway.max_headers)


DEFAULT_HEAD_LIMITS = HeadLimits.from_settings(GatewaySettings())


class _HeadTooLarge(Exception):
    """Raised in a parser callback: stops httptools before it collects any more."""


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's protocol with every request head held to ``HeadLimits`` (431 beyond them).

    Two counts, both per request. As bytes arrive: from the end of the previous message (or
    the connection's start) until the head is complete, a read may hold at most the room
    left; a read holding more is parsed only up to the limit, and a head not complete by
    then is refused without parsing the rest. In the parser's callbacks: the URL and each
    finished header count exactly, so a head that starts inside a read (pipelined after a
    request in the same read) is held to the same limits.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        head_limits: HeadLimits = DEFAULT_HEAD_LIMITS,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._max_head_bytes = head_limits.max_bytes
        self._max_headers = head_limits.max_count
        self._reading_head = True  # the next bytes belong to a request head
        self._arriving_room = head_limits.max_bytes  # head bytes that may still arrive
        self._parsed_room = head_limits.max_bytes  # exact: what the head's headers may take
        self._head_refused = False
        self._lingering = False

    # -- counting as bytes arrive ------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the answer is out and the connection ends: what still arrives is dropped
        if self._reading_head:
            room = self._arriving_room - len(data)
            if room < 0:
                self._feed_within_room(data)
                return
            self._arriving_room = room
        self._feed(data)

    def _feed_within_room(self, data: bytes) -> None:
        """A read longer than the head's room: parse up to it, then decide."""
        view = memoryview(data)
        while True:
            room = self._arriving_room
            self._arriving_room = 0  # a message that ends in the slice resets it
            if not self._feed(view[:room]):
                return
            if self._reading_head and self._arriving_room == 0:
                self._refuse_head()  # the limit is reached and the head goes on
                return
            view = view[room:]
            if not view:
                return
            if self._reading_head:
                if len(view) > self._arriving_room:
                    continue
                self._arriving_room -= len(view)
            self._feed(view)
            return

    def _feed(self, data: bytes | memoryview) -> bool:
        """uvicorn's ``data_received``, with a refused head answered 431; False: stop."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._head_refused:
                self._refuse_head()
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return False
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        return True

    # -- counting in the parser's callbacks --------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        room = self._parsed_room - len(name) - len(value)
        self._parsed_room = room
        if room < 0 or len(self.headers) >= self._max_headers:
            self._head_refused = True
            raise _HeadTooLarge
        HttpToolsProtocol.on_header(self, name, value)

    def on_headers_complete(self) -> None:
        self._end_of_head()
        super().on_headers_complete()

    def _end_of_head(self) -> None:
        """The head is complete: check the URL's share; the next bytes are its body."""
        if len(self.url) > self._parsed_room:
            self._head_refused = True
            raise _HeadTooLarge
        self._reading_head = False
        self._parsed_room = self._max_head_bytes  # trailers, if any, get a head's room

    def on_message_complete(self) -> None:
        self._expect_head()
        super().on_message_complete()

    def _expect_head(self) -> None:
        """A message ended: what comes next is the next request's head."""
        self._reading_head = True
        self._arriving_room = self._max_head_bytes

    # -- the answer ----------------------------------------------------------------------
    def _refuse_head(self) -> None:
        """431 and close; a pipelined head after the responses to the requests before it."""
        self._head_refused = True
        self._arriving_room = 0  # nothing more is parsed
        cycle = self.cycle  # the last request parsed
        if self._reading_head and cycle is not None and not cycle.response_complete:
            self.flow.pause_reading()  # answered from on_response_complete
            return
        if self.transport.is_closing():
            return
        _log.warning(
            "request head over the limits (gateway.max_header_bytes: %d, max_headers: %d)",
            self._max_head_bytes,
            self._max_headers,
        )
        message = (
            f"the request's headers are larger than {self._max_head_bytes} bytes or more "
            f"than {self._max_headers} (gateway.max_header_bytes, gateway.max_headers)"
        )
        body = json.dumps(
            error_body(message, "invalid_request_error", code="request_headers_too_large")
        ).encode()
        lines = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            lines.append(b"%b: %b\r\n" % (name, value))
        lines.append(
            b"content-type: application/json\r\ncontent-length: %d\r\n"
            b"x-request-id: %b\r\nconnection: close\r\n\r\n%b"
            % (len(body), new_request_id().encode(), body)
        )
        self.transport.write(b"".join(lines))
        self.linger_close()

    def linger_close(self) -> None:
        """End the connection after an answer given while the client is still sending.

        Closing a socket with unread bytes makes the kernel reset the connection, and a
        reset can destroy the answer in the client's receive buffer before it reads it
        (RFC 9112, 9.6). So: half-close (the answer, then FIN), drop whatever still
        arrives, and close after ``_LINGER_S`` -- or at once when the client closes.
        """
        if self._lingering or self.transport.is_closing():
            return
        self._lingering = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.loop.call_later(_LINGER_S, self.transport.close)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._head_refused:
            self._refuse_head()


class CoalescingHttpToolsProtocol(BoundedHeadHttpToolsProtocol):
    """The gateway's HTTP/1.1 protocol: uvicorn's (heads bounded), over a coalescing transport.

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

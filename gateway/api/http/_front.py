"""The gateway's HTTP/1.1 front: the endpoint table's POST routes served from the protocol.

A direct route (the app's ``direct_route``) gets a ``DirectExchange``: no ASGI scope, cycle
or message dicts. Every other request takes uvicorn's way unchanged; every head, direct or
not, is held to ``gateway.max_header_bytes`` / ``max_headers`` first (``_http``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from configs import GatewaySettings
from gateway.api.http._exchange import (
    Exchange,
    Headers,
    RequestHeaders,
    declares_more_than,
    payload_too_large,
)
from gateway.api.http._http import CoalescingHttpToolsProtocol, HeadLimits

__all__ = ["DirectExchange", "DirectHandler", "GatewayHttpProtocol"]

_log = logging.getLogger("uvicorn.error")

_CHUNK_END = b"0\r\n\r\n"


class DirectHandler(Protocol):
    """What serves a direct route: the OpenAI serving core."""

    @property
    def max_body_bytes(self) -> int: ...

    async def serve(self, exchange: Exchange) -> None: ...


DirectRoutes = Callable[[bytes], DirectHandler | None]


def _nothing() -> None:
    return None


class DirectExchange:
    """One request on a direct route, and its response.

    Stands where uvicorn keeps its request/response cycle (``protocol.cycle``, the pipeline
    queue), so it has the attributes the protocol reads there: ``response_complete``,
    ``keep_alive`` and ``run_asgi``.
    """

    __slots__ = (
        "_expect_100",
        "_flow",
        "_handler",
        "_limit",
        "_parts",
        "_protocol",
        "_size",
        "_task",
        "_transport",
        "_waiter",
        "_watching",
        "disconnected",
        "headers",
        "keep_alive",
        "more_body",
        "on_response",
        "response_complete",
        "response_started",
        "too_large",
    )

    method = "POST"

    def __init__(
        self,
        protocol: GatewayHttpProtocol,
        handler: DirectHandler,
        raw_headers: list[tuple[bytes, bytes]],
        *,
        keep_alive: bool,
        expect_100: bool,
    ) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self._flow = protocol.flow
        self._handler = handler
        self._limit = handler.max_body_bytes
        self._parts: list[bytes] = []
        self._size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._watching = False
        self._expect_100 = expect_100
        self.headers: Mapping[str, str] = RequestHeaders(raw_headers)
        self.keep_alive = keep_alive
        self.more_body = True
        self.too_large = False
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.on_response: Callable[[], None] = protocol.on_response_complete

    # -- fed by the protocol ---------------------------------------------------------
    def body_received(self, data: bytes) -> None:
        if self.too_large:
            return
        self._size += len(data)
        if self._size > self._limit:
            self.too_large = True  # answered 413 without waiting for the rest
            self._parts = []
            self._wake()
            return
        self._parts.append(data)

    def body_complete(self) -> None:
        self.more_body = False
        self._wake()

    def connection_lost(self) -> None:
        if self.response_complete:
            return
        self.disconnected = True
        self._wake()
        if self._watching and self._task is not None:
            self._task.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the task ----------------------------------------------------------------------
    async def run_asgi(self, app: object) -> None:  # named as uvicorn's cycle: it calls it
        self._task = asyncio.current_task()
        try:
            await self._handler.serve(self)
        except BaseException as exc:  # noqa: BLE001 - as uvicorn: logged, never raised on
            if not (self.disconnected and isinstance(exc, asyncio.CancelledError)):
                _log.error("Exception serving a direct route", exc_info=exc)
            if not self.response_started and not self.disconnected:
                self.keep_alive = False
                self._write(
                    500, b"text/plain; charset=utf-8", (), b"Internal Server Error", chunked=False
                )
                self._complete()
            elif not self.response_complete:
                self._transport.close()
        else:
            if not self.response_complete and not self.disconnected:
                _log.error("a direct route returned without completing its response")
                self._transport.close()
        finally:
            self.on_response = _nothing

    # -- Exchange --------------------------------------------------------------------
    async def read_body(self, limit: int) -> bytes:
        if declares_more_than(self.headers, limit):
            self.too_large = True  # refused before the body arrives
        if self.more_body and not self.too_large and not self.disconnected:
            if self._expect_100:
                self._expect_100 = False
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.disconnected:
            raise asyncio.CancelledError
        if self.too_large or self._size > limit:
            self.keep_alive = False  # the rest of the body is not read: the connection ends
            raise payload_too_large(limit)
        parts = self._parts
        self._parts = []
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def watch(self) -> None:
        self._watching = True

    def unwatch(self) -> None:
        self._watching = False

    async def send_json(self, status: int, body: bytes, headers: Headers) -> None:
        if self.disconnected:
            return
        self._write(status, b"application/json", headers, body, chunked=False)
        self._complete()

    async def start_stream(self, status: int, content_type: bytes, headers: Headers) -> None:
        if self.disconnected:
            return
        self._write(status, content_type, headers, b"", chunked=True)

    async def send_chunk(self, data: bytes) -> None:
        if self._flow.write_paused and not self.disconnected:
            await self._flow.drain()
        if self.disconnected or not data:
            return
        self._transport.write(b"%x\r\n%b\r\n" % (len(data), data))

    async def end_stream(self, data: bytes) -> None:
        if self._flow.write_paused and not self.disconnected:
            await self._flow.drain()
        if self.disconnected:
            return
        if data:
            self._transport.write(b"%x\r\n%b\r\n%b" % (len(data), data, _CHUNK_END))
        else:
            self._transport.write(_CHUNK_END)
        self._complete()

    # -- writing -------------------------------------------------------------------------
    def _write(
        self, status: int, content_type: bytes, headers: Headers, body: bytes, *, chunked: bool
    ) -> None:
        if self.response_started:
            raise RuntimeError("the response has already started")
        self.response_started = True
        lines = [STATUS_LINE[status]]
        for raw_name, raw_value in self._protocol.server_state.default_headers:  # date, server
            lines.append(b"%b: %b\r\n" % (raw_name, raw_value))
        lines.append(b"content-type: %b\r\n" % content_type)
        if chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        else:
            lines.append(b"content-length: %d\r\n" % len(body))
        text = []
        for name, value in headers:
            if "\r" in value or "\n" in value:
                raise RuntimeError(f"invalid value for response header {name!r}")
            text.append(f"{name}: {value}\r\n")
        lines.append("".join(text).encode("latin-1"))
        if not self.keep_alive:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        lines.append(body)
        self._transport.write(b"".join(lines))

    def _complete(self) -> None:
        self.response_complete = True
        if not self.keep_alive:
            if self.more_body and not self.disconnected:
                self._protocol.linger_close()  # refused mid-body: let the client read it
            else:
                self._transport.close()
        self.on_response()


class GatewayHttpProtocol(CoalescingHttpToolsProtocol):
    """uvicorn's protocol (heads bounded, writes coalesced), with the app's direct routes
    served here."""

    @classmethod
    def configured(cls, gateway: GatewaySettings) -> Callable[..., GatewayHttpProtocol]:
        """uvicorn's ``http=`` for these settings (picklable, for ``--workers``)."""
        return functools.partial(cls, head_limits=HeadLimits.from_settings(gateway))

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._direct = _direct_routes(self.app)

    def on_headers_complete(self) -> None:
        handler = None
        parser = self.parser
        if self._direct is not None and parser.get_method() == b"POST" and not self.root_path:
            handler = self._direct(self.url)
        if handler is None or parser.should_upgrade() or self._over_limit():
            super().on_headers_complete()  # the head's limits are checked there
            return
        self._end_of_head()
        exchange = DirectExchange(
            self,
            handler,
            self.headers,
            keep_alive=parser.get_http_version() != "1.0" and parser.should_keep_alive(),
            expect_100=self.expect_100_continue,
        )
        existing = self.cycle
        self.cycle = exchange  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            self._start_asgi_task(exchange, self.app)  # type: ignore[arg-type]
        else:  # pipelined: starts when the response before it is complete
            self.flow.pause_reading()
            self.pipeline.appendleft((exchange, self.app))  # type: ignore[arg-type]

    def _over_limit(self) -> bool:
        limit = self.limit_concurrency
        return limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit)

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if isinstance(cycle, DirectExchange):
            if not cycle.response_complete:
                cycle.body_received(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if isinstance(cycle, DirectExchange):
            self._expect_head()
            if not cycle.response_complete:
                cycle.body_complete()
            return
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        if isinstance(cycle, DirectExchange):
            self.cycle = None  # type: ignore[assignment]  # uvicorn's part is for its own cycles
            cycle.connection_lost()
        super().connection_lost(exc)


def _direct_routes(app: object) -> DirectRoutes | None:
    """The app's ``direct_route`` lookup, through the middleware uvicorn wraps it in."""
    for _ in range(8):
        lookup = getattr(app, "direct_route", None)
        if lookup is not None:
            return lookup  # type: ignore[no-any-return]
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None

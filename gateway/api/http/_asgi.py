"""The serving core's ``Exchange`` over ASGI: a scope, ``receive`` and ``send``.

Used under any ASGI server and for the OpenAI routes reached through Litestar, which are raw
``asgi`` handlers that read and write the ASGI messages themselves (no ``Request`` or
``Response`` objects; docs/performance.md). After ``watch()`` a client disconnect cancels the
serving task; ``unwatch()`` before the last body message, since a completed response also reads
as a disconnect.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.api.http._exchange import (
    Headers,
    RequestHeaders,
    declares_more_than,
    payload_too_large,
)

__all__ = ["AsgiExchange", "Receive", "Scope", "Send"]

Scope = dict[str, Any]
Receive = Any
Send = Any


class AsgiExchange:
    __slots__ = ("_receive", "_send", "_watcher", "headers", "method")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.method: str = scope["method"]
        self.headers = RequestHeaders(scope["headers"])
        self._receive = receive
        self._send = send
        self._watcher: _DisconnectWatcher | None = None

    @property
    def disconnected(self) -> bool:
        return self._watcher is not None and self._watcher.disconnected

    async def read_body(self, limit: int) -> bytes:
        if declares_more_than(self.headers, limit):
            raise payload_too_large(limit)
        message = await self._receive()
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > limit:
                raise payload_too_large(limit)
            return body
        parts = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise asyncio.CancelledError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise payload_too_large(limit)
            parts.append(chunk)
        return b"".join(parts)

    def watch(self) -> None:
        if self._watcher is None:
            self._watcher = _DisconnectWatcher(self._receive)

    def unwatch(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    async def send_json(self, status: int, body: bytes, headers: Headers) -> None:
        raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        raw.extend(_encoded(headers))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def start_stream(self, status: int, content_type: bytes, headers: Headers) -> None:
        raw = [(b"content-type", content_type)]
        raw.extend(_encoded(headers))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})

    async def send_chunk(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def end_stream(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": False})


def _encoded(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class _DisconnectWatcher:
    """Cancels the serving task when the client disconnects (so the upstream call is cancelled
    and its connection closed). ``stop()`` before the last body message is sent: a completed
    response also reads as a disconnect."""

    __slots__ = ("_task", "_watch", "disconnected")

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self.disconnected = False
        self._watch = asyncio.get_running_loop().create_task(self._run(receive))

    async def _run(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                self._task.cancel()
                return

    def stop(self) -> None:
        self._watch.cancel()

"""Raw-ASGI helpers for the hot API routes: reading bodies, sending JSON and SSE, and
noticing a client that went away.

The OpenAI routes are Litestar ``asgi`` handlers: Litestar routes to them, but they read
and write the ASGI messages themselves. A regular Litestar handler with a ``Request`` and a
``Response`` costs ~0.15 ms of CPU per request on the dev machine, an ``asgi`` handler
~0.02 ms (docs/performance.md) -- at 2,000 requests/s on one core that is the difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from gateway.errors import GatewayError, PayloadTooLargeError, error_body

__all__ = [
    "DisconnectWatcher",
    "RequestHeaders",
    "error_bytes",
    "read_body",
    "request_headers",
    "send_bytes",
    "send_json",
    "start_response",
]

_encode = msgspec.json.Encoder().encode

Scope = dict[str, Any]
Receive = Any
Send = Any


class RequestHeaders(Mapping[str, str]):
    """A request's headers by lowercase name, decoded only when asked for.

    The SDKs send a dozen headers (``x-stainless-*`` and more); a request reads two or
    three. ASGI servers already lowercase the names.
    """

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._decoded: dict[str, str] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        wanted = key.encode("latin-1")
        for name, value in self._raw:
            if name == wanted:
                return value.decode("latin-1")
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def _all(self) -> dict[str, str]:
        if self._decoded is None:
            decoded: dict[str, str] = {}
            for name, value in self._raw:  # the first of repeated names wins, as in get()
                decoded.setdefault(name.decode("latin-1"), value.decode("latin-1"))
            self._decoded = decoded
        return self._decoded

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def request_headers(scope: Scope) -> RequestHeaders:
    """Request headers by lowercase name (decoded lazily)."""
    return RequestHeaders(scope["headers"])


async def read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The whole request body, refused with 413 beyond ``limit`` bytes."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise _too_large(limit)
        return body
    parts = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body is larger than {limit} bytes (gateway.max_body_bytes)"
    )


def error_bytes(exc: GatewayError) -> bytes:
    return _encode(error_body(exc.message, exc.error_type, param=exc.param, code=exc.code))


async def start_response(
    send: Send, status: int, content_type: bytes, headers: Iterable[tuple[str, str]]
) -> None:
    raw = [(b"content-type", content_type)]
    raw.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def send_json(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[str, str]]
) -> None:
    """A whole JSON response with its Content-Length (no chunked framing)."""
    raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_bytes(send: Send, body: bytes, *, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})


class DisconnectWatcher:
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

"""What a first request answers, caught on its way out so that it is kept before it is sent.

``RecordingSend`` holds a Litestar route's ASGI messages until the route returns (creating
routes answer one small JSON body); ``RecordingExchange`` settles the claim (keeps the
answer, or releases the key) before the OpenAI serving core's answer goes out. Streams are
never kept: the core refuses ``stream: true`` with a key, and a stream that starts anyway
releases the key and goes out unrecorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gateway.api.http._asgi import Send
from gateway.api.http._exchange import Exchange, Headers
from gateway.platform.idempotency import KeptAnswer, replayable

__all__ = ["RecordingExchange", "RecordingSend"]


class RecordingSend:
    """An ASGI ``send`` that holds the response until ``flush``."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self._messages.append(message)

    def answer(self) -> KeptAnswer | None:
        """The whole response, if it may be replayed."""
        if not self._messages or self._messages[0]["type"] != "http.response.start":
            return None
        start, *bodies = self._messages
        status: int = start["status"]
        if not replayable(status) or not bodies or bodies[-1].get("more_body", False):
            return None
        content_type = None
        for name, value in start.get("headers", ()):
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
        return KeptAnswer(status, content_type, b"".join(m.get("body", b"") for m in bodies))

    async def flush(self) -> None:
        for message in self._messages:
            await self._send(message)
        self._messages.clear()


class RecordingExchange:
    """An ``Exchange`` whose body was read already and whose JSON answer is kept first."""

    def __init__(
        self,
        exchange: Exchange,
        body: bytes,
        settle: Callable[[KeptAnswer | None], Awaitable[None]],
    ) -> None:
        self._exchange = exchange
        self._body = body
        self._settle = settle

    @property
    def method(self) -> str:
        return self._exchange.method

    @property
    def headers(self) -> Mapping[str, str]:
        return self._exchange.headers

    @property
    def disconnected(self) -> bool:
        return self._exchange.disconnected

    async def read_body(self, limit: int) -> bytes:
        return self._body  # read within the same limit before the claim

    def watch(self) -> None:
        self._exchange.watch()

    def unwatch(self) -> None:
        self._exchange.unwatch()

    async def send_json(self, status: int, body: bytes, headers: Headers) -> None:
        kept = KeptAnswer(status, "application/json", body) if replayable(status) else None
        await self._settle(kept)
        await self._exchange.send_json(status, body, headers)

    async def start_stream(self, status: int, content_type: bytes, headers: Headers) -> None:
        await self._settle(None)
        await self._exchange.start_stream(status, content_type, headers)

    async def send_chunk(self, data: bytes) -> None:
        await self._exchange.send_chunk(data)

    async def end_stream(self, data: bytes) -> None:
        await self._exchange.end_stream(data)

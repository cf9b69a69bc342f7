"""The soak's fake OpenAI-compatible upstream: ``python -m tests.soak._upstream PORT``.

A separate process (so its memory and CPU are not the driver's) that answers from fixed
bytes and keeps nothing per request, so it cannot itself grow over a long run:
``POST .../chat/completions`` with ``"stream": true`` gets the fixed SSE stream of
``tests.benchmarks._upstream``, without it the fixed ``chat.completion``;
``POST .../embeddings`` gets one deterministic 384-d vector per input.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import cast

from tests.benchmarks._upstream import CHAT_BODY, SSE_BODY

__all__ = ["DIMENSION", "main"]

DIMENSION = 384
_VECTOR = [round(((i * 37) % 101) / 101 - 0.5, 4) for i in range(DIMENSION)]


def _reply(body: bytes, content_type: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


_CHAT = _reply(CHAT_BODY.encode(), b"application/json")
_SSE = _reply(SSE_BODY.encode(), b"text/event-stream")
_NOT_FOUND = _reply(
    b'{"error":{"message":"not found","type":"invalid_request_error"}}',
    b"application/json",
    b"404 Not Found",
)


def _embeddings(body: bytes) -> bytes:
    request = json.loads(body)
    inputs = request.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    answer = {
        "object": "list",
        "model": request.get("model", "soak-embed"),
        "data": [{"object": "embedding", "index": i, "embedding": _VECTOR} for i in range(count)],
        "usage": {"prompt_tokens": 4 * count, "total_tokens": 4 * count},
    }
    return _reply(json.dumps(answer, separators=(",", ":")).encode(), b"application/json")


def answer(head: bytes, body: bytes) -> bytes:
    """The response bytes for one request (``head`` lower-cased, without the blank line)."""
    path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
    if path.endswith(b"/chat/completions"):
        return _SSE if b'"stream":true' in body.replace(b" ", b"") else _CHAT
    if path.endswith(b"/embeddings"):
        return _embeddings(body)
    return _NOT_FOUND


class _Connection(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.WriteTransport, transport)  # uvloop's TCPTransport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self._buffer) < end + 4 + length:
                return
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            self._transport.write(answer(head, body))


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", port)
    await server.serve_forever()


def main(argv: list[str]) -> None:
    """Serve on ``127.0.0.1:PORT`` until terminated."""
    import uvloop

    uvloop.run(_serve(int(argv[0])))


if __name__ == "__main__":
    main(sys.argv[1:])

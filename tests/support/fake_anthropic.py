"""A fake Anthropic Messages API: a real HTTP/1.1 server on loopback, in a background thread.

It speaks Anthropic's wire format -- ``POST /v1/messages`` with ``x-api-key`` and
``anthropic-version``, JSON answers or SSE streams (``message_start``, ``content_block_*``,
``message_delta``, ``message_stop``, ``ping``, ``error``) -- and validates requests the way
the real API does (required fields, unknown top-level fields, strict user/assistant
alternation, ``tool_result`` ids answering the previous turn's ``tool_use``, ``thinking`` blocks
sent back with the signature this fake gave them), so a
mistranslated request fails the test with Anthropic's own kind of 400.

Tests script answers with ``enqueue(Reply(...) | ErrorReply(...))``; with nothing queued it
echoes the last user text. Fault modes: HTTP errors (500, 529 overloaded, 429 with
retry-after), invalid JSON, a slow first byte, a connection reset after N stream events, an
``error`` event after N events, a stream body that ends early. Every request is recorded
(headers, JSON body) and streams note whether the client hung up before the end.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from tests.support._fake_anthropic_answers import (
    echo,
    error_body,
    message_body,
    send_json,
    send_raw,
    stream,
)
from tests.support._fake_anthropic_checks import (
    API_KEY,
    count_tokens,
    validate,
    validate_thinking,
)
from tests.support._fake_anthropic_script import (
    ErrorReply,
    RecordedRequest,
    RedactedThinking,
    Reply,
    Text,
    Thinking,
    ToolUse,
)
from tests.support._fake_http import read_request

__all__ = [
    "API_KEY",
    "ErrorReply",
    "FakeAnthropic",
    "RecordedRequest",
    "RedactedThinking",
    "Reply",
    "Text",
    "Thinking",
    "ToolUse",
]


class FakeAnthropic:
    """Start with ``with FakeAnthropic() as fake:``; ``fake.base_url`` is the Target base URL."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.signatures: dict[str, str] = {}  # signature -> the thinking it was issued for
        self._script: deque[Reply | ErrorReply] = deque()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.base_url = ""

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def enqueue(self, *replies: Reply | ErrorReply) -> None:
        """Answers for the next requests, in order."""
        self._script.extend(replies)

    def reset(self) -> None:
        self._script.clear()
        self.requests.clear()
        self.signatures.clear()

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._connection, "127.0.0.1", 0)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while (raw := await read_request(reader)) is not None:
                request = RecordedRequest(*raw)
                self.requests.append(request)
                if not await self._answer(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _answer(
        self, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must not be reused."""
        if request.method == "POST" and request.path == "/v1/messages/count_tokens":
            counted = count_tokens(request)
            await send_json(writer, counted[0], counted[1], None)
            return True
        problem = validate(request) or validate_thinking(request.json, self.signatures)
        if problem is not None:
            await send_json(writer, problem.status, error_body(problem), problem)
            return True
        body = request.json
        reply = self._script.popleft() if self._script else echo(body)
        if isinstance(reply, ErrorReply):
            await send_json(writer, reply.status, error_body(reply, request), reply)
            return True
        for item in reply.content:
            if isinstance(item, Thinking):
                self.signatures[item.signature] = item.thinking
        if reply.first_byte_delay_s:
            await asyncio.sleep(reply.first_byte_delay_s)
        if not body.get("stream"):
            if reply.invalid_json:
                await send_raw(writer, 200, b'{"type": "message", "content": [', "application/json")
            else:
                await send_json(writer, 200, message_body(reply, body["model"]), None)
            return True
        return await stream(reply, body["model"], request, reader, writer)

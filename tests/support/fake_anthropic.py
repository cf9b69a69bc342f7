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
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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

API_KEY = "sk-ant-test-key"
_KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
    }
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    529: "Overloaded",
}


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Thinking:
    """Extended thinking; the API requires it back, signature unchanged, in a tool loop."""

    thinking: str
    signature: str = "sig-fake-0001"


@dataclass(frozen=True)
class RedactedThinking:
    data: str


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A successful answer, sent as JSON or (for ``stream: true``) as SSE events."""

    content: tuple[Text | ToolUse | Thinking | RedactedThinking, ...] = (
        Text("Hello from fake Anthropic."),
    )
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    input_tokens: int = 11
    output_tokens: int = 7
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    message_id: str = "msg_fake01"
    delta_chars: int = 4  # text_delta / partial_json fragment size
    first_byte_delay_s: float = 0.0
    event_delay_s: float = 0.0
    invalid_json: bool = False  # a body (or, streaming, the 3rd event) that is not JSON
    reset_after_events: int | None = None  # RST the connection after this many events
    error_after_events: int | None = None  # send an ``error`` event after this many events
    end_after_events: int | None = None  # end the body cleanly (no message_stop) after these
    error_type: str = "overloaded_error"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error answer in Anthropic's error shape."""

    status: int
    error_type: str
    message: str = "fake error"
    retry_after: str | None = None
    echo_headers: bool = False  # append the request's headers (x-api-key included) to message
    echo_prompt: bool = False  # append the last user message to message


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_closed: threading.Event = field(default_factory=threading.Event)
    stream_completed: bool = False

    @property
    def json(self) -> Any:
        return json.loads(self.body)


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
            while (request := await _read_request(reader)) is not None:
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
            counted = _count_tokens(request)
            await _send_json(writer, counted[0], counted[1], None)
            return True
        problem = _validate(request) or _validate_thinking(request.json, self.signatures)
        if problem is not None:
            await _send_json(writer, problem.status, _error_body(problem), problem)
            return True
        body = request.json
        reply = self._script.popleft() if self._script else _echo(body)
        if isinstance(reply, ErrorReply):
            await _send_json(writer, reply.status, _error_body(reply, request), reply)
            return True
        for item in reply.content:
            if isinstance(item, Thinking):
                self.signatures[item.signature] = item.thinking
        if reply.first_byte_delay_s:
            await asyncio.sleep(reply.first_byte_delay_s)
        if not body.get("stream"):
            if reply.invalid_json:
                await _send_raw(
                    writer, 200, b'{"type": "message", "content": [', "application/json"
                )
            else:
                await _send_json(writer, 200, _message(reply, body["model"]), None)
            return True
        return await _stream(reply, body["model"], request, reader, writer)


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RecordedRequest(method, path, headers, body)


def _count_tokens(request: RecordedRequest) -> tuple[int, dict[str, Any]]:
    """Anthropic's count_tokens: no ``max_tokens`` or ``stream``; words as tokens, + 3."""
    body = request.json
    if request.headers.get("x-api-key") != API_KEY:
        return 401, {"type": "error", "error": {"type": "authentication_error", "message": "key"}}
    refused = sorted(set(body) & {"max_tokens", "stream", "temperature", "stop_sequences"})
    if refused or not isinstance(body.get("messages"), list):
        problem = f"{refused[0]}: Extra inputs are not permitted" if refused else "messages"
        return 400, {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": problem},
        }
    words = len(json.dumps([body.get("system"), body["messages"], body.get("tools")]).split())
    return 200, {"input_tokens": words + 3}


def _validate(request: RecordedRequest) -> ErrorReply | None:
    if request.method != "POST" or request.path != "/v1/messages":
        return ErrorReply(404, "not_found_error", f"Not found: {request.method} {request.path}")
    if request.headers.get("x-api-key") != API_KEY:
        return ErrorReply(401, "authentication_error", "invalid x-api-key")
    if not request.headers.get("anthropic-version"):
        return ErrorReply(400, "invalid_request_error", "anthropic-version: header is required")
    try:
        body = request.json
    except ValueError:
        return ErrorReply(400, "invalid_request_error", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return ErrorReply(400, "invalid_request_error", "body must be an object")
    for name in sorted(set(body) - _KNOWN_FIELDS):
        return ErrorReply(400, "invalid_request_error", f"{name}: Extra inputs are not permitted")
    for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
        if not isinstance(body.get(name), kind):
            return ErrorReply(400, "invalid_request_error", f"{name}: Field required")
    return _validate_turns(body["messages"])


def _validate_turns(messages: list[Any]) -> ErrorReply | None:
    previous_role, previous_tool_ids = "", set[str]()
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant") or role == previous_role:
            return ErrorReply(
                400, "invalid_request_error", f"messages.{i}: roles must alternate user/assistant"
            )
        if not content:
            return ErrorReply(400, "invalid_request_error", f"messages.{i}: content is empty")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        for block in blocks:
            if block.get("type") == "tool_result" and block["tool_use_id"] not in previous_tool_ids:
                return ErrorReply(
                    400,
                    "invalid_request_error",
                    f"messages.{i}: tool_result {block['tool_use_id']} has no matching tool_use",
                )
        previous_role = role
        previous_tool_ids = {b["id"] for b in blocks if b.get("type") == "tool_use"}
    return None


def _validate_thinking(body: dict[str, Any], signatures: dict[str, str]) -> ErrorReply | None:
    """As the API does: a thinking block sent back must carry the signature it came with."""
    for i, message in enumerate(body["messages"]):
        content = message["content"]
        for j, block in enumerate(content if isinstance(content, list) else ()):
            if block.get("type") != "thinking":
                continue
            signature = block.get("signature")
            if not signature or signatures.get(signature) != block.get("thinking"):
                return ErrorReply(
                    400,
                    "invalid_request_error",
                    f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block",
                )
    return None


def _echo(body: dict[str, Any]) -> Reply:
    text = ""
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            content = message["content"]
            blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
            text = " ".join(b["text"] for b in blocks if b.get("type") == "text")
            break
    return Reply(content=(Text(f"echo: {text}"),))


def _usage(reply: Reply, *, output_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": reply.input_tokens, "output_tokens": output_tokens}
    if reply.cache_read_input_tokens is not None:
        usage["cache_read_input_tokens"] = reply.cache_read_input_tokens
    if reply.cache_creation_input_tokens is not None:
        usage["cache_creation_input_tokens"] = reply.cache_creation_input_tokens
    return usage


def _block(item: Text | ToolUse | Thinking | RedactedThinking) -> dict[str, Any]:
    if isinstance(item, Text):
        return {"type": "text", "text": item.text}
    if isinstance(item, Thinking):
        return {"type": "thinking", "thinking": item.thinking, "signature": item.signature}
    if isinstance(item, RedactedThinking):
        return {"type": "redacted_thinking", "data": item.data}
    return {"type": "tool_use", "id": item.id, "name": item.name, "input": item.input}


def _message(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": reply.message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [_block(item) for item in reply.content],
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": _usage(reply, output_tokens=reply.output_tokens),
    }


def _events(reply: Reply, model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    message = _message(reply, model) | {"content": [], "stop_reason": None, "stop_sequence": None}
    message["usage"] = _usage(reply, output_tokens=1)
    yield "message_start", {"type": "message_start", "message": message}
    yield "ping", {"type": "ping"}
    for index, item in enumerate(reply.content):
        start: dict[str, Any]
        deltas: list[dict[str, Any]]
        if isinstance(item, Text):
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": f} for f in _split(item.text, reply)]
        elif isinstance(item, Thinking):
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": f} for f in _split(item.thinking, reply)
            ]
            deltas.append({"type": "signature_delta", "signature": item.signature})
        elif isinstance(item, RedactedThinking):
            start = {"type": "redacted_thinking", "data": item.data}
            deltas = []
        else:
            start = {"type": "tool_use", "id": item.id, "name": item.name, "input": {}}
            # the real API opens with an empty fragment, and sends none for an empty input
            fragments = ["", *_split(json.dumps(item.input), reply)] if item.input else []
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in fragments]
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": start,
            },
        )
        for delta in deltas:
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
            "usage": {"output_tokens": reply.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _split(text: str, reply: Reply) -> list[str]:
    size = reply.delta_chars
    return [text[i : i + size] for i in range(0, len(text), size)]


async def _stream(
    reply: Reply,
    model: str,
    request: RecordedRequest,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> bool:
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        "cache-control: no-cache\r\ntransfer-encoding: chunked\r\nrequest-id: req_fake\r\n\r\n"
    )
    writer.write(head.encode())
    hangup = asyncio.ensure_future(reader.read(1))  # b"" once the client closes its side
    try:
        for n, (name, data) in enumerate(_events(reply, model)):
            if hangup.done():
                request.client_closed.set()
                return False
            if n == reply.reset_after_events:
                _reset(writer)
                return False
            if n == reply.end_after_events:
                break
            if n == reply.error_after_events:
                error = {"type": "error", "error": {"type": reply.error_type, "message": "boom"}}
                await _send_chunk(writer, _sse("error", json.dumps(error)))
                break
            text = "{not json" if reply.invalid_json and n == 2 else json.dumps(data)
            await _send_chunk(writer, _sse(name, text))
            if reply.event_delay_s:
                await asyncio.wait({hangup}, timeout=reply.event_delay_s)
        else:
            request.stream_completed = True
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        request.client_closed.set()
        return False
    finally:
        if not hangup.done():
            hangup.cancel()
    return True


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed upstream or a middlebox would."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _error_body(error: ErrorReply, request: RecordedRequest | None = None) -> dict[str, Any]:
    message = error.message
    if request is not None and error.echo_headers:
        message += f"; request headers: {request.headers}"
    if request is not None and error.echo_prompt:
        messages = request.json.get("messages") or [{}]
        message += f"; prompt: {json.dumps(messages[-1].get('content'))}"
    return {
        "type": "error",
        "error": {"type": error.error_type, "message": message},
        "request_id": "req_fake",
    }


async def _send_json(
    writer: asyncio.StreamWriter, status: int, body: Any, error: ErrorReply | None
) -> None:
    extra = {"retry-after": error.retry_after} if error and error.retry_after else {}
    await _send_raw(writer, status, json.dumps(body).encode(), "application/json", extra)


async def _send_raw(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> None:
    headers = {"content-type": content_type, "content-length": str(len(body))}
    headers.update(extra or {})
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + body)
    await writer.drain()

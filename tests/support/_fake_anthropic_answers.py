"""What the fake Anthropic sends for a scripted reply: a ``message`` body, or its SSE stream
(``message_start``, ``content_block_*``, ``message_delta``, ``message_stop``, ``ping``) with
the reply's faults (a reset, an ``error`` event or an early end after N events, a slow event
rate); and errors in Anthropic's error shape. With nothing scripted it echoes the last user text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from tests.support._fake_anthropic_script import (
    ErrorReply,
    RecordedRequest,
    RedactedThinking,
    Reply,
    Text,
    Thinking,
    ToolUse,
)
from tests.support._fake_http import reset, send_chunk, send_response, sse
from tests.support._fake_prompt import last_user_text

__all__ = ["echo", "error_body", "message_body", "send_json", "send_raw", "stream"]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    529: "Overloaded",
}


def echo(body: dict[str, Any]) -> Reply:
    """The answer when nothing is scripted: the last user text, echoed."""
    return Reply(content=(Text(f"echo: {last_user_text(body['messages'])}"),))


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


def message_body(reply: Reply, model: str) -> dict[str, Any]:
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
    empty: dict[str, Any] = {"content": [], "stop_reason": None, "stop_sequence": None}
    message = message_body(reply, model) | empty
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


async def stream(
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
                reset(writer)
                return False
            if n == reply.end_after_events:
                break
            if n == reply.error_after_events:
                error = {"type": "error", "error": {"type": reply.error_type, "message": "boom"}}
                await send_chunk(writer, sse(json.dumps(error), "error"))
                break
            text = "{not json" if reply.invalid_json and n == 2 else json.dumps(data)
            await send_chunk(writer, sse(text, name))
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


def error_body(error: ErrorReply, request: RecordedRequest | None = None) -> dict[str, Any]:
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


async def send_json(
    writer: asyncio.StreamWriter, status: int, body: Any, error: ErrorReply | None
) -> None:
    extra = {"retry-after": error.retry_after} if error and error.retry_after else {}
    await send_raw(writer, status, json.dumps(body).encode(), "application/json", extra)


async def send_raw(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> None:
    reason = _REASONS.get(status, "Error")
    await send_response(writer, status, reason, body, content_type, extra)

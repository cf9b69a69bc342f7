"""A real OpenAI-compatible HTTP server on loopback, with fault modes, for tests.

Raw asyncio (HTTP/1.1, keep-alive) in a background thread, so a test can make it misbehave
in ways a framework would not: reset a connection mid-stream, stall before the first byte,
answer garbage. Faults are picked per request: first from a script (``script(...)``), else
from the upstream model name (``fault-500``, ``fault-429``, ``fault-slow``, ``fault-reset``,
``fault-invalid-json``, ``fault-hang``, ``fault-400``, ``fault-drip``: a stream with
``drip_s`` between chunks; ``fault-401-echo``: a 401 that echoes the request's headers,
credentials included, as careless upstreams and proxies do; ``fault-400-quote``: a 400 that
quotes the prompt; ``fault-stream-error`` / ``fault-stream-failed``: a stream that breaks off
with an error event / a ``response.failed`` event after two events), else the request is
answered normally: chat and ``/responses`` echo the last user message (or, after a tool
result, that result) and call the first offered function tool with ``{"q": <text>}``,
embeddings are deterministic vectors. ``/responses`` answers in OpenAI's wire format: a
``response`` object, or its typed events (``event:`` lines, ``sequence_number``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.net import free_port
from tests.support.threaded_server import ThreadedStreamServer

__all__ = ["FakeOpenAI", "Received"]

FAULTS = (
    "500",
    "429",
    "slow",
    "reset",
    "invalid-json",
    "hang",
    "400",
    "503",
    "drip",
    "401-echo",
    "400-quote",
    "stream-error",
    "stream-failed",
)


@dataclass
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI(ThreadedStreamServer):
    """Start with ``with FakeOpenAI() as fake:``; ``fake.base_url`` ends in ``/v1``."""

    retry_after: str = "0"
    slow_s: float = 3.0
    drip_s: float = 0.2  # pause between stream chunks under the "drip" fault
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    disconnects: int = 0  # streams whose client went away before the end

    def __post_init__(self) -> None:
        self._script: list[str] = []
        self._lock = threading.Lock()
        self._init_server()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *faults: str) -> None:
        """The next requests get these faults, in order ("ok" for a normal answer)."""
        with self._lock:
            self._script.extend(faults)

    def count(self, path_suffix: str = "") -> int:
        return sum(1 for r in self.requests if r.path.endswith(path_suffix))

    # -- HTTP ----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                body = json.loads(raw) if raw else {}
                self.requests.append(Received(method, path, headers, body))
                if not await self._answer(path, body, reader, writer, headers=headers):
                    return
        except ConnectionError:
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    def _fault(self, body: dict[str, Any]) -> str:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        model = str(body.get("model", ""))
        return model.removeprefix("fault-") if model.startswith("fault-") else "ok"

    async def _answer(
        self,
        path: str,
        body: dict[str, Any],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        headers: dict[str, str],
    ) -> bool:
        """Answer one request; False when the connection must not be reused."""
        fault = self._fault(body)
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
            fault = "ok"
        if fault == "reset" and not body.get("stream"):
            _reset(writer)
            return False
        if fault in ("500", "503"):
            await _json(writer, int(fault), _error("the fake upstream failed", "server_error"))
            return True
        if fault == "400":
            error = _error("the fake upstream rejects this", "invalid_request_error", "temperature")
            await _json(writer, 400, error)
            return True
        if fault == "401-echo":
            message = f"Invalid credentials. Authorization: {headers.get('authorization')}"
            error = {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}
            await _json(writer, 401, {"error": error, "request_headers": headers})
            return True
        if fault == "400-quote":
            prompt = _last_user_text(body) or json.dumps(body.get("input"))
            message = f"This model's maximum context length is 8 tokens; your prompt was: {prompt}"
            error = _error(message, "invalid_request_error", "messages")
            error["error"]["code"] = "context_length_exceeded"
            await _json(writer, 400, error)
            return True
        if fault == "429":
            await _json(
                writer,
                429,
                _error("slow down", "rate_limit_error"),
                extra=f"retry-after: {self.retry_after}\r\n",
            )
            return True
        if fault == "invalid-json":
            await _raw(writer, 200, b"this is not json{", "application/json")
            return True
        if path.endswith("/responses/input_tokens"):  # counts words, as its usage does
            await _json(
                writer,
                200,
                {
                    "object": "response.input_tokens",
                    "input_tokens": _words(json.dumps(body.get("input"))),
                },
            )
            return True
        if path.endswith("/embeddings"):
            await _json(writer, 200, _embeddings(body))
            return True
        if path.endswith("/responses"):
            if body.get("stream"):
                frames = [_event_frame(event) for event in _responses_events(body)]
                return await self._stream(reader, writer, frames, fault=fault, responses=True)
            await _json(writer, 200, _response(body))
            return True
        chat = path.endswith("/chat/completions")
        if body.get("stream"):
            chunks = _chat_chunks(body) if chat else _completion_chunks(body)
            frames = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]
            return await self._stream(reader, writer, [*frames, b"data: [DONE]\n\n"], fault=fault)
        await _json(writer, 200, _chat(body) if chat else _completion(body))
        return True

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        frames: list[bytes],
        *,
        fault: str,
        responses: bool = False,
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        if fault in ("stream-error", "stream-failed"):
            frames = [*frames[:2], _broken_frame(fault, responses=responses)]
        try:
            for index, frame in enumerate(frames):
                if fault == "reset" and index == 2:
                    await writer.drain()
                    _reset(writer)
                    return False
                if fault == "hang" and index == 2:
                    await writer.drain()
                    with contextlib.suppress(ConnectionError, TimeoutError):
                        await asyncio.wait_for(reader.read(1), 30)  # b"": the client left
                    self.disconnects += 1
                    return False
                if fault == "drip" and index:
                    await asyncio.sleep(self.drip_s)
                _chunked(writer, frame)
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            self.disconnects += 1
            return False
        return True


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _chunked(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


async def _raw(
    writer: asyncio.StreamWriter, status: int, data: bytes, ctype: str, extra: str = ""
) -> None:
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\n"
        f"content-length: {len(data)}\r\n{extra}\r\n"
    )
    writer.write(head.encode() + data)
    await writer.drain()


async def _json(writer: asyncio.StreamWriter, status: int, body: Any, extra: str = "") -> None:
    await _raw(writer, status, json.dumps(body).encode(), "application/json", extra)


def _error(message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return str(content or "")
    return ""


def _words(text: str) -> int:
    return max(1, len(text.split()))


def _text_of(content: Any, kind: str) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == kind)
    return str(content or "")


def _chat(body: dict[str, Any]) -> dict[str, Any]:
    text = _last_user_text(body)
    message: dict[str, Any] = {"role": "assistant", "content": f"echo: {text}"}
    finish = "stop"
    tools = body.get("tools") or []
    last = (body.get("messages") or [{}])[-1]
    if last.get("role") == "tool":  # a tool result: answer it, so that a tool loop ends
        message["content"] = f"echo: {_text_of(last.get('content'), 'text')}"
    elif tools and body.get("tool_choice") != "none":
        name = _tool_to_call(body)
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps({"q": text})},
                }
            ],
        }
        finish = "tool_calls"
    n = int(body.get("n") or 1)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {"index": i, "message": message, "finish_reason": finish, "logprobs": None}
            for i in range(n)
        ],
        "usage": {
            "prompt_tokens": _words(text),
            "completion_tokens": _words(text) + 1,
            "total_tokens": 2 * _words(text) + 1,
        },
    }


def _tool_to_call(body: dict[str, Any]) -> str:
    """The function a tool-calling turn calls: the one ``tool_choice`` forces, else the first."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        return str(choice["function"]["name"])
    return str(body["tools"][0]["function"]["name"])


def _streamed_call(body: dict[str, Any], base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A tool call as OpenAI streams it: id and name first, the arguments in pieces."""
    arguments = json.dumps({"q": _last_user_text(body)})
    first = {"index": 0, "id": "call_1", "type": "function"}
    first["function"] = {"name": _tool_to_call(body), "arguments": ""}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [first]}}]}
    for piece in (arguments[:4], arguments[4:]):
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        yield {**base, "choices": [{"index": 0, "delta": delta}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}


def _chat_chunks(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    text = _last_user_text(body)
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1}
    base["model"] = body.get("model")
    n = int(body.get("n") or 1)  # as OpenAI: one choice per chunk, the choices interleaved
    last = (body.get("messages") or [{}])[-1]
    if last.get("role") == "tool":  # a tool result: answer it, so that a tool loop ends
        text = _text_of(last.get("content"), "text")
    elif body.get("tools") and body.get("tool_choice") != "none" and n == 1:
        yield from _streamed_call(body, base)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": _words(text), "completion_tokens": 5, "total_tokens": 0}
            usage["total_tokens"] = usage["prompt_tokens"] + 5
            yield {**base, "choices": [], "usage": usage}
        return
    for i in range(n):
        yield {**base, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""}}]}
    for word in ["echo:", *text.split()]:
        for i in range(n):
            yield {**base, "choices": [{"index": i, "delta": {"content": word + " "}}]}
    for i in range(n):
        yield {**base, "choices": [{"index": i, "delta": {}, "finish_reason": "stop"}]}
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": _words(text), "completion_tokens": n * (_words(text) + 1)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        yield {**base, "choices": [], "usage": usage}


# -- /responses ------------------------------------------------------------------------
def _event_frame(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _broken_frame(fault: str, *, responses: bool) -> bytes:
    error = {"code": "server_error", "message": "the fake upstream broke off", "param": None}
    if not responses:
        return (
            b"data: " + json.dumps({"error": {**error, "type": "server_error"}}).encode() + b"\n\n"
        )
    if fault == "stream-error":
        return _event_frame({"type": "error", **error, "sequence_number": 2})
    failed = {**_envelope({}, "failed", []), "error": {"code": "server_error", "message": "x"}}
    return _event_frame({"type": "response.failed", "response": failed, "sequence_number": 2})


def _responses_turn(body: dict[str, Any]) -> tuple[str, str | None]:
    """The text to echo and, unless the turn answers a tool result, the tool to call."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    items = items or []
    if items and items[-1].get("type") == "function_call_output":
        return _text_of(items[-1].get("output"), "input_text"), None
    text = ""
    for item in reversed(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            text = _text_of(item.get("content"), "input_text")
            break
    functions = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    choice = body.get("tool_choice")
    if functions and choice != "none":
        if isinstance(choice, dict) and choice.get("type") == "function":
            return text, str(choice["name"])
        return text, str(functions[0]["name"])
    return text, None


def _responses_output(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    text, tool = _responses_turn(body)
    item: dict[str, Any]
    if tool is not None:
        arguments = json.dumps({"q": text})
        item = {"id": "fc_fake", "type": "function_call", "status": "completed"}
        item |= {"call_id": "call_1", "name": tool, "arguments": arguments}
        out = arguments
    else:
        out = f"echo: {text}"
        part = {"type": "output_text", "text": out, "annotations": [], "logprobs": []}
        item = {"id": "msg_fake", "type": "message", "status": "completed"}
        item |= {"role": "assistant", "content": [part]}
    words = _words(text)
    usage = {
        "input_tokens": words,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": _words(out),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": words + _words(out),
    }
    return [item], usage


def _envelope(body: dict[str, Any], status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": body.get("model"),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None,
        "user": None,
    }


def _response(body: dict[str, Any]) -> dict[str, Any]:
    output, usage = _responses_output(body)
    return {**_envelope(body, "completed", output), "usage": usage}


def _responses_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's event sequence for the answer ``_response`` gives."""
    output, usage = _responses_output(body)
    (item,) = output
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _envelope(body, "in_progress", [])},
        {"type": "response.in_progress", "response": _envelope(body, "in_progress", [])},
    ]
    at = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "function_call":
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
        )
        arguments = item["arguments"]
        for piece in (arguments[:5], arguments[5:]):
            events.append({"type": "response.function_call_arguments.delta", **at, "delta": piece})
        events.append(
            {
                "type": "response.function_call_arguments.done",
                **at,
                "name": item["name"],
                "arguments": arguments,
            }
        )
    else:
        part = item["content"][0]
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "content": []},
            }
        )
        empty = {**part, "text": ""}
        at["content_index"] = 0
        events.append({"type": "response.content_part.added", **at, "part": empty})
        for word in part["text"].split(" "):
            delta = word if events[-1]["type"] != "response.output_text.delta" else " " + word
            events.append(
                {"type": "response.output_text.delta", **at, "delta": delta, "logprobs": []}
            )
        events.append(
            {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
        )
        events.append({"type": "response.content_part.done", **at, "part": part})
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    events.append(
        {
            "type": "response.completed",
            "response": {**_envelope(body, "completed", output), "usage": usage},
        }
    )
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body.get("prompt")
    text = prompt if isinstance(prompt, str) else json.dumps(prompt)
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {"index": 0, "text": f" after {text}", "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": _words(text),
            "completion_tokens": 2,
            "total_tokens": _words(text) + 2,
        },
    }


def _completion_chunks(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    base = {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": 1,
        "model": body.get("model"),
    }
    for word in ("one", "two", "three"):
        yield {**base, "choices": [{"index": 0, "text": f" {word}", "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
        }


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    items = body["input"]
    if isinstance(items, str) or (items and isinstance(items[0], int)):
        items = [items]
    dims = int(body.get("dimensions") or 8)
    data = []
    for index, item in enumerate(items):
        seed = len(str(item))
        vector = [round((seed + i) / (dims + seed), 6) for i in range(dims)]
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(_words(str(item)) for item in items)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

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
import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.support._fake_http import read_request, reset, send_chunk, send_response, sse
from tests.support._fake_openai_chat import chat, chat_chunks, completion, completion_chunks
from tests.support._fake_openai_embeddings import embeddings
from tests.support._fake_openai_responses import (
    envelope,
    input_tokens,
    response,
    responses_events,
)
from tests.support._fake_prompt import last_user_text
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
    host: str = "127.0.0.1"
    requests: list[Received] = field(default_factory=list)
    disconnects: int = 0  # streams whose client went away before the end

    def __post_init__(self) -> None:
        self._script: list[str] = []
        self._lock = threading.Lock()
        self._init_server()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

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
            while (request := await read_request(reader)) is not None:
                body = json.loads(request.body) if request.body else {}
                headers = request.headers
                self.requests.append(Received(request.method, request.path, headers, body))
                if not await self._answer(request.path, body, reader, writer, headers=headers):
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
            reset(writer)
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
            prompt = last_user_text(body.get("messages") or []) or json.dumps(body.get("input"))
            message = f"This model's maximum context length is 8 tokens; your prompt was: {prompt}"
            error = _error(message, "invalid_request_error", "messages")
            error["error"]["code"] = "context_length_exceeded"
            await _json(writer, 400, error)
            return True
        if fault == "429":
            retry_after = {"retry-after": self.retry_after}
            await _json(writer, 429, _error("slow down", "rate_limit_error"), retry_after)
            return True
        if fault == "invalid-json":
            await send_response(writer, 200, "X", b"this is not json{", "application/json")
            return True
        if path.endswith("/responses/input_tokens"):  # counts words, as its usage does
            await _json(writer, 200, input_tokens(body))
            return True
        if path.endswith("/embeddings"):
            await _json(writer, 200, embeddings(body))
            return True
        if path.endswith("/responses"):
            if body.get("stream"):
                frames = [_event_frame(event) for event in _responses_events(body)]
                return await self._stream(reader, writer, frames, fault=fault, responses=True)
            await _json(writer, 200, response(body))
            return True
        is_chat = path.endswith("/chat/completions")
        if body.get("stream"):
            chunks = chat_chunks(body) if is_chat else completion_chunks(body)
            frames = [sse(json.dumps(chunk)) for chunk in chunks]
            return await self._stream(reader, writer, [*frames, sse("[DONE]")], fault=fault)
        await _json(writer, 200, chat(body) if is_chat else completion(body))
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
                    reset(writer)
                    return False
                if fault == "hang" and index == 2:
                    await writer.drain()
                    with contextlib.suppress(ConnectionError, TimeoutError):
                        await asyncio.wait_for(reader.read(1), 30)  # b"": the client left
                    self.disconnects += 1
                    return False
                if fault == "drip" and index:
                    await asyncio.sleep(self.drip_s)
                await send_chunk(writer, frame)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            self.disconnects += 1
            return False
        return True


# The event sequence the server streams on /responses; tests/gateway/api/responses/test_native.py
# reads it from this module.
_responses_events = responses_events


def _event_frame(event: dict[str, Any]) -> bytes:
    return sse(json.dumps(event), event["type"])


def _broken_frame(fault: str, *, responses: bool) -> bytes:
    error = {"code": "server_error", "message": "the fake upstream broke off", "param": None}
    if not responses:
        return sse(json.dumps({"error": {**error, "type": "server_error"}}))
    if fault == "stream-error":
        return _event_frame({"type": "error", **error, "sequence_number": 2})
    failed = {**envelope({}, "failed", []), "error": {"code": "server_error", "message": "x"}}
    return _event_frame({"type": "response.failed", "response": failed, "sequence_number": 2})


async def _json(
    writer: asyncio.StreamWriter, status: int, body: Any, extra: dict[str, str] | None = None
) -> None:
    await send_response(writer, status, "X", json.dumps(body).encode(), "application/json", extra)


def _error(message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}

"""A capturing OpenAI-compatible upstream (uvicorn on loopback) for the policy tests.

Every request body is kept in ``requests``. Behaviour by upstream model name:
- ``echo``: answers every user text of the request, joined; streams it three characters a
  chunk, so placeholders arrive split over chunks;
- ``tools``: calls the request's first tool (arguments from ``CALLS``) and then
  ``delete_repo``; streams the argument fragments a few characters at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from litestar import Litestar, Request, post
from litestar.response import Stream

from tests.support.servers import ServerThread

__all__ = ["CapturingUpstream"]


def _user_text(body: dict[str, Any]) -> str:
    texts: list[str] = []
    for message in body.get("messages") or ():
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                texts.extend(p.get("text", "") for p in content if isinstance(p, dict))
            elif isinstance(content, str):
                texts.append(content)
    return " | ".join(texts)


def _calls(body: dict[str, Any]) -> list[tuple[str, str]]:
    tools = body.get("tools") or []
    first = tools[0]["function"]["name"] if tools else "get_weather"
    return [(first, json.dumps({"city": _user_text(body)})), ("delete_repo", '{"name": "x"}')]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-cap",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _stream(body: dict[str, Any]) -> Iterator[bytes]:
    model = body["model"]
    yield _chunk(model, {"role": "assistant", "content": ""})
    if model == "tools":
        for index, (name, arguments) in enumerate(_calls(body)):
            head = {"index": index, "id": f"call_{index}", "type": "function"}
            yield _chunk(
                model, {"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]}
            )
            for i in range(0, len(arguments), 5):
                part = {"index": index, "function": {"arguments": arguments[i : i + 5]}}
                yield _chunk(model, {"tool_calls": [part]})
        yield _chunk(model, {}, "tool_calls")
    else:
        text = "echo: " + _user_text(body)
        for i in range(0, len(text), 3):
            yield _chunk(model, {"content": text[i : i + 3]})
        yield _chunk(model, {}, "stop")
    yield b"data: [DONE]\n\n"


def _complete(body: dict[str, Any]) -> dict[str, Any]:
    model = body["model"]
    message: dict[str, Any] = {"role": "assistant", "content": "echo: " + _user_text(body)}
    finish = "stop"
    if model == "tools":
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(_calls(body))
            ],
        }
        finish = "tool_calls"
    return {
        "id": "chatcmpl-cap",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }


class CapturingUpstream:
    """``with CapturingUpstream() as up:``; ``up.base_url`` ends in ``/v1``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

        @post("/v1/chat/completions", status_code=200)
        async def chat(request: Request[Any, Any, Any]) -> Any:
            body = await request.json()
            self.requests.append(body)
            if body.get("stream"):

                async def events() -> AsyncIterator[bytes]:
                    for event in _stream(body):
                        yield event

                return Stream(events(), media_type="text/event-stream")
            return _complete(body)

        @post("/v1/embeddings", status_code=200)
        async def embeddings(request: Request[Any, Any, Any]) -> Any:
            body = await request.json()
            self.requests.append(body)
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [0.1, 0.2]}
                for i in range(len(inputs))
            ]
            return {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }

        self._server = ServerThread(Litestar([chat, embeddings], logging_config=None))
        self.base_url = f"{self._server.base_url}/v1"

    def wire(self) -> str:
        """Everything the upstream received, as one string."""
        return json.dumps(self.requests)

    def __enter__(self) -> CapturingUpstream:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

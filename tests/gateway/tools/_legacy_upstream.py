"""An OpenAI-compatible upstream (uvicorn on loopback) that answers with a legacy
``function_call`` (the API before tools): it calls the function its last user message
names, with ``{"city": "Oslo"}``; streamed, the arguments arrive a few characters a chunk
and the choice ends with ``finish_reason: "function_call"``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, post
from litestar.response import Stream

from tests.support.servers import ServerThread

__all__ = ["ARGUMENTS", "LegacyUpstream"]

ARGUMENTS = '{"city": "Oslo"}'


def _called(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"]).strip()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-legacy",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "legacy",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


async def _stream(name: str) -> AsyncIterator[bytes]:
    yield _chunk({"role": "assistant", "content": None, "function_call": {"name": name}})
    for i in range(0, len(ARGUMENTS), 4):
        yield _chunk({"function_call": {"arguments": ARGUMENTS[i : i + 4]}})
    yield _chunk({}, "function_call")
    yield b"data: [DONE]\n\n"


class LegacyUpstream:
    """``with LegacyUpstream() as up:``; ``up.base_url`` ends in ``/v1``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

        @post("/v1/chat/completions", status_code=200)
        async def chat(request: Request[Any, Any, Any]) -> Any:
            body = await request.json()
            self.requests.append(body)
            name = _called(body)
            if body.get("stream"):
                return Stream(_stream(name), media_type="text/event-stream")
            call = {"name": name, "arguments": ARGUMENTS}
            return {
                "id": "chatcmpl-legacy",
                "object": "chat.completion",
                "created": 1,
                "model": "legacy",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": None, "function_call": call},
                        "finish_reason": "function_call",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
            }

        self._server = ServerThread(Litestar([chat], logging_config=None))
        self.base_url = f"{self._server.base_url}/v1"

    def __enter__(self) -> LegacyUpstream:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

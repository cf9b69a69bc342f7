"""The official ``openai`` client over an in-process transport that answers with our translation.

The handler stands in for the gateway route that is not wired yet: it checks the Responses
body, translates it to chat completions, asks ``upstream`` (a function returning a
``chat.completion`` or its chunks) and translates the answer back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx2
import openai

from gateway.api.openai.responses import (
    ResponseContext,
    ResponseStream,
    chat_request,
    check_request,
    response_from_chat,
    sse_event,
)

Upstream = Callable[[dict[str, Any]], Any]


class Recorder:
    """The Responses bodies the client sent and the chat bodies they became."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.chat_bodies: list[dict[str, Any]] = []


def client(upstream: Upstream, recorder: Recorder | None = None) -> openai.OpenAI:
    seen = recorder or Recorder()

    def handle(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/responses"
        body = json.loads(request.content)
        seen.bodies.append(body)
        checked = check_request(body)
        chat = chat_request(checked, body)
        seen.chat_bodies.append(chat)
        context = ResponseContext(checked, body)
        answer = upstream(chat)
        if not chat.get("stream"):
            return httpx2.Response(200, json=response_from_chat(answer, context))
        return httpx2.Response(
            200,
            content=b"".join(map(sse_event, stream_events(context, answer))),
            headers={"content-type": "text/event-stream"},
        )

    transport = httpx2.MockTransport(handle)
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.test/v1",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )


def stream_events(
    context: ResponseContext, chunks: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    stream = ResponseStream(context)
    events = stream.start()
    for chunk in chunks:
        events += stream.feed(chunk)
    return events + stream.finish()

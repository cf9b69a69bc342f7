"""What the fake OpenAI answers on ``/chat/completions`` and ``/completions``: a body, or the
chunks of a stream. Chat echoes the last user message (or, after a tool result, that result)
and calls the offered function tool with ``{"q": <text>}``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from tests.support._fake_prompt import last_user_text, text_of, tool_to_call, words

__all__ = ["chat", "chat_chunks", "completion", "completion_chunks"]


def chat(body: dict[str, Any]) -> dict[str, Any]:
    text = last_user_text(body.get("messages") or [])
    message: dict[str, Any] = {"role": "assistant", "content": f"echo: {text}"}
    finish = "stop"
    last = (body.get("messages") or [{}])[-1]
    if last.get("role") == "tool":  # a tool result: answer it, so that a tool loop ends
        message["content"] = f"echo: {text_of(last.get('content'), 'text')}"
    elif (name := _tool(body)) is not None:
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
            "prompt_tokens": words(text),
            "completion_tokens": words(text) + 1,
            "total_tokens": 2 * words(text) + 1,
        },
    }


def _tool(body: dict[str, Any]) -> str | None:
    """The function a tool-calling turn calls, if any (chat tools nest it under ``function``)."""
    choice = body.get("tool_choice")
    return tool_to_call(body.get("tools") or [], choice, lambda tool: tool["function"]["name"])


def _streamed_call(
    body: dict[str, Any], base: dict[str, Any], name: str
) -> Iterator[dict[str, Any]]:
    """A tool call as OpenAI streams it: id and name first, the arguments in pieces."""
    arguments = json.dumps({"q": last_user_text(body.get("messages") or [])})
    first = {"index": 0, "id": "call_1", "type": "function"}
    first["function"] = {"name": name, "arguments": ""}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [first]}}]}
    for piece in (arguments[:4], arguments[4:]):
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        yield {**base, "choices": [{"index": 0, "delta": delta}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}


def chat_chunks(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    text = last_user_text(body.get("messages") or [])
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1}
    base["model"] = body.get("model")
    n = int(body.get("n") or 1)  # as OpenAI: one choice per chunk, the choices interleaved
    last = (body.get("messages") or [{}])[-1]
    if last.get("role") == "tool":  # a tool result: answer it, so that a tool loop ends
        text = text_of(last.get("content"), "text")
    elif n == 1 and (name := _tool(body)) is not None:
        yield from _streamed_call(body, base, name)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": words(text), "completion_tokens": 5, "total_tokens": 0}
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
        usage = {"prompt_tokens": words(text), "completion_tokens": n * (words(text) + 1)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        yield {**base, "choices": [], "usage": usage}


def completion(body: dict[str, Any]) -> dict[str, Any]:
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
            "prompt_tokens": words(text),
            "completion_tokens": 2,
            "total_tokens": words(text) + 2,
        },
    }


def completion_chunks(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
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

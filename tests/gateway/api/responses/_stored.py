"""Responses as the serving code stores them: real ``response`` objects and their input items."""

from __future__ import annotations

import secrets
from typing import Any

from gateway.api.openai.responses import (
    ResponseContext,
    check_request,
    new_id,
    response_from_chat,
)
from gateway.policy.auth import Principal

__all__ = ["input_item", "principal", "stored_response"]


def principal(key_id: str | None = None, *, admin: bool = False) -> Principal:
    return Principal(
        key_id=key_id or "key_" + secrets.token_hex(8),
        name="test",
        role="admin" if admin else "member",
        display_prefix="sk-test",
    )


def input_item(text: str) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def stored_response(answer: str, *, previous: str | None = None) -> dict[str, Any]:
    """A completed ``response`` with one output message saying ``answer``."""
    body: dict[str, Any] = {"model": "chat", "input": "question"}
    if previous is not None:
        body["previous_response_id"] = previous
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    return response_from_chat(completion, ResponseContext(check_request(body), body))

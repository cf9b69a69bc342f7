"""How the fake Anthropic checks a request, the way the real API does: the key, the version
header, required and unknown top-level fields, strict user/assistant alternation, ``tool_result``
ids answering the previous turn's ``tool_use``, ``thinking`` blocks sent back with the signature
the fake gave them; and ``count_tokens``, which refuses the fields only ``messages`` takes."""

from __future__ import annotations

import json
from typing import Any

from tests.support._fake_anthropic_script import ErrorReply, RecordedRequest

__all__ = ["API_KEY", "count_tokens", "validate", "validate_thinking"]

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


def count_tokens(request: RecordedRequest) -> tuple[int, dict[str, Any]]:
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


def validate(request: RecordedRequest) -> ErrorReply | None:
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


def validate_thinking(body: dict[str, Any], signatures: dict[str, str]) -> ErrorReply | None:
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

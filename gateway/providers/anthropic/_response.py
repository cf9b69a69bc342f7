"""An Anthropic ``message`` -> an OpenAI ``chat.completion``; shared stop-reason and usage maps.

Thinking blocks become the reasoning fields of the chat message (docs/anthropic.md):
``reasoning_content`` (their text, joined), ``reasoning_signature`` (the last signature: Anthropic
sends one thinking block per turn) and ``redacted_reasoning`` (each redacted block's ``data``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.providers.anthropic._errors import MalformedUpstreamError

__all__ = ["completion_id", "finish_reason", "to_chat_completion", "usage"]

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any) -> str:
    """OpenAI's ``finish_reason`` for an Anthropic ``stop_reason`` (unknown: ``stop``)."""
    return _FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def completion_id(message_id: Any) -> str:
    """An OpenAI-style id that still names the Anthropic message it came from."""
    return f"chatcmpl-{message_id}" if isinstance(message_id, str) and message_id else "chatcmpl"


def usage(raw: Any) -> dict[str, Any]:
    """Anthropic usage -> OpenAI usage.

    Anthropic's ``input_tokens`` excludes prompt-cache reads and writes; OpenAI's
    ``prompt_tokens`` includes cached tokens, so they are added back and reported in
    ``prompt_tokens_details`` (``cached_tokens`` = cache reads, ``cache_creation_tokens`` =
    cache writes, which Anthropic bills differently).
    """
    raw = raw if isinstance(raw, dict) else {}
    cache_read = _count(raw, "cache_read_input_tokens")
    cache_write = _count(raw, "cache_creation_input_tokens")
    prompt = _count(raw, "input_tokens") + cache_read + cache_write
    completion = _count(raw, "output_tokens")
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cache_read or cache_write:
        out["prompt_tokens_details"] = {
            "cached_tokens": cache_read,
            "cache_creation_tokens": cache_write,
        }
    return out


def to_chat_completion(message: Any, *, created: int) -> dict[str, Any]:
    """The ``chat.completion`` for a non-streaming Anthropic response body."""
    if not isinstance(message, dict) or message.get("type") != "message":
        raise MalformedUpstreamError("response is not an Anthropic message object")
    content = message.get("content")
    if not isinstance(content, list):
        raise MalformedUpstreamError("message has no content array")
    texts: list[str] = []
    thoughts: list[str] = []
    signature = ""
    redacted: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking":
            thoughts.append(_str(block, "thinking"))
            signature = _str(block, "signature")
        elif kind == "redacted_thinking":
            redacted.append(_str(block, "data"))
        elif kind == "text":
            texts.append(_str(block, "text"))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": _str(block, "id"),
                    "type": "function",
                    "function": {
                        "name": _str(block, "name"),
                        "arguments": msgspec.json.encode(block.get("input") or {}).decode(),
                    },
                }
            )
        # server tool blocks have no OpenAI counterpart
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if thoughts or signature:
        reply["reasoning_content"] = "".join(thoughts)
        reply["reasoning_signature"] = signature
    if redacted:
        reply["redacted_reasoning"] = redacted
    if tool_calls:
        reply["tool_calls"] = tool_calls
    return {
        "id": completion_id(message.get("id")),
        "object": "chat.completion",
        "created": created,
        "model": message.get("model") or "",
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish_reason(message.get("stop_reason")),
            }
        ],
        "usage": usage(message.get("usage")),
    }


def _count(raw: dict[str, Any], name: str) -> int:
    value = raw.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(block: dict[str, Any], name: str) -> str:
    value = block.get(name)
    if not isinstance(value, str):
        raise MalformedUpstreamError(f"{block.get('type')} block has no string '{name}'")
    return value

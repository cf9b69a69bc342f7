"""A chat completion -> an Anthropic ``message``; the stop-reason and usage maps the stream shares.

The reverse of ``gateway.providers.anthropic._response``: ``finish_reason`` ``stop`` ->
``end_turn`` (``stop_sequence`` when the upstream names the matched stop string, as vLLM does
in ``stop_reason``), ``length`` -> ``max_tokens``, ``tool_calls`` -> ``tool_use``,
``content_filter`` -> ``refusal``. Usage follows Anthropic's counting: ``input_tokens``
excludes cache reads and writes, which are reported apart.

Reasoning comes back as a ``thinking`` block with its ``reasoning_signature`` (an Anthropic
deployment's; empty from other upstreams, whose reasoning no client can send back for checking)
and ``redacted_reasoning`` entries as ``redacted_thinking`` blocks, ahead of the text.

A tool call whose ``arguments`` are not a JSON object keeps them as ``{"_raw": arguments}``:
the client's own input check then tells the model what it sent, where ``{}`` would run the
tool with no arguments as if they were valid. Empty arguments are ``{}`` (a parameterless call).
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

__all__ = [
    "message_from_chat",
    "message_id",
    "stop_reason",
    "tool_input",
    "usage_from_chat",
]

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_decode = msgspec.json.decode


def message_id(completion_id: Any = None) -> str:
    """``msg_…``: derived from the completion's id when there is one (``chatcmpl-msg_X`` from
    the Anthropic provider gives back ``msg_X``), else random."""
    if isinstance(completion_id, str) and completion_id:
        rest = completion_id.removeprefix("chatcmpl-")
        return rest if rest.startswith("msg_") else f"msg_{rest}"
    return f"msg_{secrets.token_hex(12)}"


def message_from_chat(completion: dict[str, Any], *, model: str) -> dict[str, Any]:
    """The Anthropic ``message`` for one (non-streamed) ``chat.completion``; ``model`` is the
    name the client asked for."""
    choices = completion.get("choices") or [{}]
    choice: dict[str, Any] = choices[0] if isinstance(choices[0], dict) else {}
    reply: dict[str, Any] = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = reply.get("reasoning_content") or reply.get("reasoning")
    signature = reply.get("reasoning_signature")
    signature = signature if isinstance(signature, str) else ""
    if (isinstance(reasoning, str) and reasoning) or signature:
        thought = reasoning if isinstance(reasoning, str) else ""
        content.append({"type": "thinking", "thinking": thought, "signature": signature})
    redacted = reply.get("redacted_reasoning")
    for data in redacted if isinstance(redacted, list) else ():
        if isinstance(data, str) and data:
            content.append({"type": "redacted_thinking", "data": data})
    text = reply.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    refusal = reply.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = reply.get("tool_calls") or ()
    for call in calls:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{secrets.token_hex(12)}",
                "name": function.get("name") or "",
                "input": tool_input(function.get("arguments")),
            }
        )
    reason, sequence = stop_reason(
        choice.get("finish_reason"), choice.get("stop_reason"), has_calls=bool(calls)
    )
    if isinstance(refusal, str) and refusal:
        reason = "refusal"
    return {
        "id": message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_from_chat(completion.get("usage")),
    }


def stop_reason(
    finish_reason: Any, matched: Any = None, *, has_calls: bool = False
) -> tuple[str, str | None]:
    """``(stop_reason, stop_sequence)`` for a chat ``finish_reason``.

    ``matched`` is vLLM's ``stop_reason`` (the stop string that ended the answer, when one
    did). An upstream that ends tool calls with ``stop`` still gets ``tool_use``: clients
    run the tools when they see it.
    """
    if finish_reason in ("stop", None) and isinstance(matched, str) and matched:
        return "stop_sequence", matched
    if finish_reason in ("stop", None) and has_calls:
        return "tool_use", None
    if isinstance(finish_reason, str):
        return _STOP_REASONS.get(finish_reason, "end_turn"), None
    return "end_turn", None


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's ``arguments`` as Anthropic's ``input`` (see the module docstring)."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        value = _decode(arguments)
    except (msgspec.DecodeError, TypeError):
        value = None
    return value if isinstance(value, dict) else {"_raw": arguments}


def usage_from_chat(usage: Any) -> dict[str, int]:
    """Chat usage in Anthropic's names (zeros when the upstream sent none).

    Chat's ``prompt_tokens`` include cached tokens; Anthropic's ``input_tokens`` do not.
    Cache writes are ``cache_creation_tokens`` (the Anthropic provider's name) or
    ``cache_write_tokens``.
    """
    if not isinstance(usage, dict):
        return {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cache_read = _count(details.get("cached_tokens"))
    cache_write = _count(details.get("cache_creation_tokens")) or _count(
        details.get("cache_write_tokens")
    )
    return {
        "input_tokens": max(_count(usage.get("prompt_tokens")) - cache_read - cache_write, 0),
        "output_tokens": _count(usage.get("completion_tokens")),
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

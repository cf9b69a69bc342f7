"""A chat completion -> a Responses ``response`` object, and the envelope both the
non-streaming and the streaming translation build.

The envelope echoes the request the way OpenAI's does (``instructions``, ``tools``,
``tool_choice``, ``text``, sampling settings, ``metadata``, ``store`` ...), with OpenAI's
defaults where the client left a field out. ``output_text`` is not a wire field: the SDK
computes it from the ``message`` items.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from gateway.api.openai.responses.protocol import ResponsesRequest

__all__ = [
    "ResponseContext",
    "Status",
    "error_code",
    "finish_reason",
    "function_call_item",
    "incomplete_reason",
    "message_item",
    "new_id",
    "output_from_chat",
    "output_text",
    "response_from_chat",
    "usage_from_chat",
]

Status = Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]
# chat finish_reason -> Responses incomplete_details.reason
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    """``resp_…``, ``msg_…``, ``fc_…``: 48 random hex digits, as OpenAI's ids look."""
    return f"{prefix}_{secrets.token_hex(24)}"


class ResponseContext:
    """What every ``response`` object of one request shares: its id, time and echo fields."""

    def __init__(
        self,
        request: ResponsesRequest,
        body: dict[str, Any],
        *,
        response_id: str | None = None,
        created_at: float | None = None,
        background: bool = False,
    ) -> None:
        self.request = request
        self.id = response_id or new_id("resp")
        self.background = background  # run by a worker (background: true)
        self.created_at = int(created_at if created_at is not None else time.time())
        text = body.get("text") if isinstance(body.get("text"), dict) else None
        self._echo: dict[str, Any] = {
            "instructions": request.instructions,
            "max_output_tokens": request.max_output_tokens,
            "metadata": request.metadata or {},
            "parallel_tool_calls": (
                request.parallel_tool_calls if request.parallel_tool_calls is not None else True
            ),
            "previous_response_id": request.previous_response_id,
            "reasoning": body.get("reasoning") if request.reasoning is not None else None,
            "safety_identifier": request.safety_identifier,
            "store": request.store if request.store is not None else True,
            "temperature": request.temperature if request.temperature is not None else 1.0,
            "text": {"format": {"type": "text"}, **(text or {})},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_logprobs": request.top_logprobs,
            "top_p": request.top_p if request.top_p is not None else 1.0,
            "truncation": "disabled",
            "user": request.user,
        }

    def response(
        self,
        *,
        status: Status,
        output: list[dict[str, Any]],
        model: str | None = None,
        usage: dict[str, Any] | None = None,
        incomplete_reason: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``response`` object in the given state."""
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": self.background,
            "completed_at": int(time.time()) if status == "completed" else None,
            "error": error,
            "incomplete_details": (
                {"reason": incomplete_reason} if incomplete_reason is not None else None
            ),
            "model": model or self.request.model,
            "output": output,
            "usage": usage,
            **self._echo,
        }


def response_from_chat(completion: dict[str, Any], context: ResponseContext) -> dict[str, Any]:
    """The ``response`` object for one (non-streamed) ``chat.completion``."""
    reason = incomplete_reason(finish_reason(completion))
    return context.response(
        status="incomplete" if reason else "completed",
        output=output_from_chat(completion),
        model=completion.get("model"),
        usage=usage_from_chat(completion.get("usage")),
        incomplete_reason=reason,
    )


def error_code(status: int) -> str:
    """The ``error.code`` of a failed response (OpenAI's ``ResponseError``) for an HTTP status."""
    if status == 429:
        return "rate_limit_exceeded"
    if 400 <= status < 500:
        return "invalid_prompt"
    return "server_error"


def finish_reason(completion: dict[str, Any]) -> str | None:
    choice = _choice(completion)
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) else None


def output_from_chat(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """The output items of one ``chat.completion``: a message (text, refusal), then one
    ``function_call`` item per tool call."""
    choice = _choice(completion)
    message: dict[str, Any] = choice.get("message") or {}
    item_status = "incomplete" if incomplete_reason(choice.get("finish_reason")) else "completed"
    output: list[dict[str, Any]] = []
    content = message.get("content")
    refusal = message.get("refusal")
    parts: list[dict[str, Any]] = []
    if isinstance(content, str) and content:
        parts.append(output_text(content))
    if isinstance(refusal, str) and refusal:
        parts.append({"type": "refusal", "refusal": refusal})
    if parts:
        output.append(message_item(new_id("msg"), parts, item_status))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(
            function_call_item(
                new_id("fc"),
                call_id=call.get("id") or new_id("call"),
                name=function.get("name") or "",
                arguments=function.get("arguments") or "",
                status=item_status,
            )
        )
    return output


def _choice(completion: dict[str, Any]) -> dict[str, Any]:
    choices = completion.get("choices") or [{}]
    return choices[0] if isinstance(choices[0], dict) else {}


def incomplete_reason(finish_reason: str | None) -> str | None:
    """``incomplete_details.reason`` for a chat ``finish_reason`` (None: completed)."""
    return _INCOMPLETE.get(finish_reason or "")


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call_item(
    item_id: str, *, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def usage_from_chat(usage: Any) -> dict[str, Any] | None:
    """Chat's ``usage`` in Responses' names (None when the upstream sent none)."""
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": _count(prompt_details.get("cached_tokens")),
            "cache_write_tokens": _count(prompt_details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": _count(completion_details.get("reasoning_tokens")),
        },
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

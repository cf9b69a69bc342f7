"""Wire models of the CPU server's endpoints (OpenAI's request shapes), decoded with msgspec.

Unknown fields are refused rather than ignored, and OpenAI options this server does not
implement (tools, logprobs, n > 1...) are refused by name: nothing that changes the meaning
of a request is dropped silently.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

import msgspec

from inference.errors import RequestError

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "CompletionRequest",
    "EmbeddingRequest",
    "StreamOptions",
    "decode_request",
]

_T = TypeVar("_T")


class StreamOptions(msgspec.Struct, forbid_unknown_fields=True):
    include_usage: bool = False


class ChatMessage(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class _Sampling(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Options shared by chat and completions."""

    model: str
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logprobs: Any = None
    ignore_eos: bool | None = None  # vLLM's extension: keep going past end-of-sequence


class ChatRequest(_Sampling, kw_only=True):
    messages: list[ChatMessage]
    max_completion_tokens: int | None = None
    top_logprobs: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None


class CompletionRequest(_Sampling, kw_only=True):
    prompt: str | list[str | int]  # one text, several texts, or token ids
    echo: bool = False
    suffix: str | None = None
    best_of: int | None = None


class EmbeddingRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    model: str
    input: str | list[Any]  # texts only; token arrays are refused by name
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None


def decode_request(body: bytes, kind: type[_T]) -> _T:
    """Decode a JSON body into ``kind``; a precise 400 names the field at fault."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        param = path.rstrip("`").lstrip(".") or None
        named = re.search(r"(?:unknown|missing required) field `([^`]+)`", message)
        if named:
            param = f"{param}.{named[1]}" if param else named[1]
        raise RequestError(message, param=param) from exc
    except msgspec.DecodeError as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}") from exc

"""Wire model of ``POST /v1/chat/completions``: the fields the gateway checks.

Unknown fields are allowed and forwarded to the upstream unchanged (OpenAI-compatible
upstreams understand fields added after this was written; the Anthropic adapter maps what
it can). The Struct is for validation and the OpenAPI schema only; the body itself stays
the client's dict.
"""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

__all__ = [
    "MAX_TOKENS",
    "ChatCompletionRequest",
    "ChatMessage",
    "ContentPart",
    "FunctionDef",
    "Tool",
]

Penalty = Annotated[float, Meta(ge=-2, le=2)]
# Token counts: no model answers with more than int32 tokens, and the quota step's Redis
# script refuses integers it cannot represent (a huge max_tokens pushed it to fallback).
MAX_TOKENS = 2**31 - 1


class ContentPart(Struct, forbid_unknown_fields=False):
    """``{"type": "text", "text": ...}``, ``{"type": "image_url", "image_url": {...}}``, ..."""

    type: str


class ChatMessage(Struct, forbid_unknown_fields=False):
    role: Annotated[str, Meta(min_length=1)]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class FunctionDef(Struct, forbid_unknown_fields=False):
    name: Annotated[str, Meta(min_length=1, max_length=64)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Struct, forbid_unknown_fields=False):
    type: str
    function: FunctionDef | None = None


class StreamOptions(Struct, forbid_unknown_fields=False):
    include_usage: bool | None = None


class ResponseFormat(Struct, forbid_unknown_fields=False):
    type: str
    json_schema: dict[str, Any] | None = None


class ChatCompletionRequest(Struct, forbid_unknown_fields=False):
    model: str
    messages: Annotated[list[ChatMessage], Meta(min_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    max_tokens: Annotated[int, Meta(ge=1, le=MAX_TOKENS)] | None = None
    max_completion_tokens: Annotated[int, Meta(ge=1, le=MAX_TOKENS)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, float] | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None

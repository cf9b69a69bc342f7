"""Wire model of ``POST /v1/completions`` (the legacy prompt API)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from gateway.api.openai.chat.protocol import MAX_TOKENS, StreamOptions

__all__ = ["CompletionRequest"]


class CompletionRequest(Struct, forbid_unknown_fields=False):
    model: str
    prompt: str | list[str | int | list[int]]  # text(s), token ids or token-id arrays
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    best_of: Annotated[int, Meta(ge=1)] | None = None
    max_tokens: Annotated[int, Meta(ge=0, le=MAX_TOKENS)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    logprobs: Annotated[int, Meta(ge=0, le=5)] | None = None
    echo: bool | None = None
    suffix: str | None = None
    user: str | None = None

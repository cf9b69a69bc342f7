"""Wire model of ``POST /v1/embeddings``."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

__all__ = ["EmbeddingRequest"]


class EmbeddingRequest(Struct, forbid_unknown_fields=False):
    model: str
    # a string, or an array of strings, of token ids, or of token-id arrays
    input: (
        Annotated[str, Meta(min_length=1)]
        | Annotated[list[str | int | list[int]], Meta(min_length=1)]
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    user: str | None = None

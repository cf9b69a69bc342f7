"""``Dispatch``: which serving object answers ``POST path``, for every lane that routes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.api.openai._serving import OpenAIServing

__all__ = ["Dispatch"]


@dataclass(frozen=True, slots=True)
class Dispatch:
    """The endpoint table's serving objects by path: ``by_path`` for ASGI scopes (the
    ``GatewayLitestar`` bypass), ``by_target`` for the HTTP front's raw request target."""

    by_path: Mapping[str, OpenAIServing]
    by_target: Mapping[bytes, OpenAIServing]

    @classmethod
    def of(cls, servings: Iterable[OpenAIServing]) -> Dispatch:
        by_path = {serving.path: serving for serving in servings}
        return cls(by_path, {path.encode(): serving for path, serving in by_path.items()})

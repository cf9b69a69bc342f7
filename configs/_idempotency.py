"""Settings of ``Idempotency-Key``: how long answers are replayed, how long duplicates wait."""

from __future__ import annotations

from pydantic import Field

from configs._strict import Strict

__all__ = ["IdempotencySettings"]


class IdempotencySettings(Strict):
    """Creating POSTs sent with ``Idempotency-Key`` (files, vector stores, responses, ...)."""

    ttl_s: int = Field(
        default=86_400,
        ge=60,
        description="a key's first answer is replayed this long; then the key may be used again",
    )
    wait_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="a duplicate of a request still running waits this long for its answer, "
        "then gets 409 idempotency_key_in_use",
    )
    lease_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="a running request renews its claim on the key every third of this; a "
        "claim not renewed for this long (its process died) is taken over by the next request",
    )

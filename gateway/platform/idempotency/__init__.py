"""``Idempotency-Key``: a creating POST retried with the same key runs once.

The rules (``Idempotency``, ``Claim``), the Postgres table they keep (``IdempotencyStore``)
and what identifies a request (``check_key``, ``BodyDigest``). The HTTP side, which applies
them to routes and to the OpenAI serving core, is ``gateway.api.http.idempotency``.
"""

from __future__ import annotations

from gateway.platform.idempotency._fingerprint import MAX_KEY_LENGTH, BodyDigest, check_key
from gateway.platform.idempotency._guard import Claim, Idempotency, replayable
from gateway.platform.idempotency._store import (
    IdempotencyStore,
    IdempotentRequest,
    KeptAnswer,
    Seen,
)

__all__ = [
    "MAX_KEY_LENGTH",
    "BodyDigest",
    "Claim",
    "Idempotency",
    "IdempotencyStore",
    "IdempotentRequest",
    "KeptAnswer",
    "Seen",
    "check_key",
    "replayable",
]

"""``Idempotency-Key`` over HTTP: the route middleware (``idempotent``,
``refuses_idempotency``) and the gate the OpenAI serving core calls (``IdempotencyGate``).

The rules and their Postgres table are ``gateway.platform.idempotency``.
"""

from __future__ import annotations

from gateway.api.http.idempotency._gate import HEADER, REPLAYED, IdempotencyGate
from gateway.api.http.idempotency._middleware import idempotent, refuses_idempotency
from gateway.api.http.idempotency._recording import RecordingExchange, RecordingSend

__all__ = [
    "HEADER",
    "REPLAYED",
    "IdempotencyGate",
    "RecordingExchange",
    "RecordingSend",
    "idempotent",
    "refuses_idempotency",
]

"""One request's usage, as it is written to ``usage_events``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["UsageRecord"]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """``event_id`` is unique per record, so a batch retried after an unclear failure is
    written once (``request_id`` may repeat: clients can choose it). ``status`` is the HTTP
    status the client got (200 for a stream that ran; 499 or 502 for one cut short).
    ``tokens_estimated``: the gateway counted the tokens itself (a stream that ended before
    the upstream's usage report is charged for the text it sent)."""

    request_id: str
    key_id: str
    model: str
    deployment: str | None
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    status: int
    streamed: bool
    created_at: datetime
    tokens_estimated: bool = False
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def row(self) -> tuple[object, ...]:
        return (
            self.event_id,
            _text(self.request_id),
            self.key_id,
            _text(self.model),  # the client's model name, even one that does not exist
            None if self.deployment is None else _text(self.deployment),
            self.endpoint,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost_usd,
            self.latency_ms,
            self.status,
            self.streamed,
            self.created_at,
            self.tokens_estimated,
        )


def _text(value: str) -> str:
    """``value`` as Postgres can store it: a NUL in one row would fail its whole batch."""
    return value.replace("\x00", "\ufffd")

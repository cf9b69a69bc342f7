"""Audit events (tool decisions, PII findings) and the protocol of where they go."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

__all__ = ["AuditEvent", "AuditKind", "AuditSink", "fingerprint"]

AuditKind = Literal["tool", "pii"]


def fingerprint(arguments: str) -> str:
    """sha256 of tool-call arguments, hex: lets identical calls be matched, shows nothing."""
    return hashlib.sha256(arguments.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One decision. Never holds a PII value: tools by name and argument hash, PII by counts.

    ``decision``: tools ``allowed`` / ``blocked`` / ``removed`` / ``rejected``; PII
    ``masked`` / ``redacted`` / ``blocked`` / ``allowed``.
    """

    kind: AuditKind
    key_id: str | None
    subject: str  # the tool's name; for PII the policy's name
    decision: str
    reason: str
    stage: Literal["request", "response"]
    request_id: str | None = None
    model: str | None = None
    arguments_sha256: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class AuditSink(Protocol):
    """Takes events without waiting (the hot path never blocks on storage)."""

    def record(self, event: AuditEvent) -> None:
        """Queue ``event``; it is written later, in a batch."""

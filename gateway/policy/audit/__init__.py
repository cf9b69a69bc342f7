"""The audit trail of tool and PII decisions: events, their sink, the writer and the reader.

Below the policy steps (tools and PII both record here), above the pipeline.
"""

from __future__ import annotations

from gateway.policy.audit._event import AuditEvent, AuditKind, AuditSink, fingerprint
from gateway.policy.audit._store import AuditPage, AuditQuery, AuditStore
from gateway.policy.audit._writer import AuditWriter

__all__ = [
    "AuditEvent",
    "AuditKind",
    "AuditPage",
    "AuditQuery",
    "AuditSink",
    "AuditStore",
    "AuditWriter",
    "fingerprint",
]

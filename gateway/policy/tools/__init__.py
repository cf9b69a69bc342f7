"""Tool-call permissions: what a request may offer, what a model may call, and the audit trail.

Request side: ``check_request_tools`` (403 for forbidden tools offered, chosen or called in
the history, or their removal; 400 for a tool field of another shape, a schema that is not
self-contained, or a ``tool`` message answering an unknown call). Response side:
``ToolCallGuard`` judges every call, legacy ``function_call`` included (key permission,
declared by the request, JSON arguments valid against the schema), in whole responses and
in streams. Schemas never make the gateway fetch anything (see ``_schema``). Every
decision becomes an ``AuditEvent``; ``AuditWriter`` writes them to Postgres off the hot
path and ``AuditController`` lists them.
"""

from __future__ import annotations

from gateway.policy.tools._audit import AuditEvent, AuditKind, AuditSink, fingerprint
from gateway.policy.tools._audit_controller import AuditController
from gateway.policy.tools._audit_store import AuditPage, AuditQuery, AuditStore
from gateway.policy.tools._audit_writer import AuditWriter
from gateway.policy.tools._errors import (
    ToolCallBlockedError,
    ToolError,
    ToolForbiddenError,
    UnknownToolCallError,
)
from gateway.policy.tools._hooks import ToolRequestHook, ToolResponseHook
from gateway.policy.tools._judge import ToolCallJudge, Verdict
from gateway.policy.tools._request import DeclaredTool, RequestTools, check_request_tools
from gateway.policy.tools._response import BlockMode, ToolCallGuard
from gateway.policy.tools._services import GuardServices

__all__ = [
    "AuditController",
    "AuditEvent",
    "AuditKind",
    "AuditPage",
    "AuditQuery",
    "AuditSink",
    "AuditStore",
    "AuditWriter",
    "BlockMode",
    "DeclaredTool",
    "GuardServices",
    "RequestTools",
    "ToolCallBlockedError",
    "ToolCallGuard",
    "ToolCallJudge",
    "ToolError",
    "ToolForbiddenError",
    "ToolRequestHook",
    "ToolResponseHook",
    "UnknownToolCallError",
    "Verdict",
    "check_request_tools",
    "fingerprint",
]

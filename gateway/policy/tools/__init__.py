"""Tool-call permissions: what a request may offer and what a model may call.

Request side: ``check_request_tools`` (403 for forbidden tools offered, chosen or called in
the history, or their removal; 400 for a tool field of another shape, a schema that is not
self-contained, or a ``tool`` message answering an unknown call). Response side:
``ToolCallGuard`` judges every call, legacy ``function_call`` included (key permission,
declared by the request, JSON arguments valid against the schema), in whole responses and
in streams. Schemas never make the gateway fetch anything (see ``_schema``). Every
decision becomes an ``AuditEvent`` (``gateway.policy.audit``).
"""

from __future__ import annotations

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

__all__ = [
    "BlockMode",
    "DeclaredTool",
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
]

"""Tool-call permissions: what a request may offer and what a model may call.

- Request side, ``check_request_tools``: a forbidden tool offered is refused (403) or removed;
  one chosen or called in the history is a 403; malformed tool fields, schemas that are not
  self-contained and ``tool`` messages answering unknown calls are a 400.
- Response side, ``ToolCallGuard``: every call (legacy ``function_call`` too), whole or streamed,
  needs the key's permission, a tool the request declared and arguments valid for its schema.
- Schemas never make the gateway fetch anything (``_schema``); every decision is an ``AuditEvent``.
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

"""The tool checks' errors, already in the gateway's error tree (OpenAI's error shape)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.platform.errors import GatewayError, InvalidRequestError, PermissionDeniedError

__all__ = ["ToolCallBlockedError", "ToolError", "ToolForbiddenError", "UnknownToolCallError"]


class ToolError(GatewayError):
    """Base of the tool checks' errors."""


class ToolForbiddenError(ToolError, PermissionDeniedError):
    """The request offers (or forces) a tool the API key may not use; ``tools`` names them
    (the audit trail records a decision per tool)."""

    default_code = "tool_not_allowed"

    def __init__(self, message: str, *, tools: Sequence[str], param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.tools = tuple(tools)


class UnknownToolCallError(ToolError, InvalidRequestError):
    """A ``tool`` message answers a tool call that no assistant message made."""

    default_code = "unknown_tool_call_id"


class ToolCallBlockedError(ToolError):
    """The model called a tool it may not call, or with arguments that break the rules.

    403 when the key may not use the tool or the request did not offer it; 502 when the
    arguments are not valid JSON or fail the tool's schema (the upstream's output is bad).
    """

    error_type = "invalid_request_error"
    default_code = "tool_call_blocked"

    def __init__(self, message: str, *, permission: bool) -> None:
        super().__init__(message)
        self.status_code = 403 if permission else 502
        if not permission:
            self.error_type = "upstream_error"

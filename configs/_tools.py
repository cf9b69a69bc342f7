"""Settings of the tool-call permission checks and their audit trail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from configs._strict import Strict

__all__ = ["AuditSettings", "ToolSettings"]


class AuditSettings(Strict):
    """The audit trail: buffered in each process, written to Postgres in batches."""

    batch_size: int = Field(default=500, ge=1)
    flush_interval_s: float = Field(default=0.5, gt=0)
    max_buffer: int = Field(
        default=100_000, ge=1, description="rows kept while Postgres is unreachable"
    )
    retry_max_s: float = Field(default=10.0, gt=0, description="longest wait between retries")
    shutdown_timeout_s: float = Field(default=10.0, gt=0)


class ToolSettings(Strict):
    """What happens to tools a key may not use, and to tool calls that break the rules."""

    on_forbidden_tool: Literal["reject", "remove"] = Field(
        default="reject",
        description="reject: 403; remove: drop the tool and name it in a response header",
    )
    removed_header: str = "x-ragway-tools-removed"
    on_blocked_call: Literal["error", "refuse"] = Field(
        default="error",
        description="error: the response becomes an error; refuse: the call is replaced by "
        "an assistant refusal",
    )
    validate_arguments: bool = True
    check_budget_ms: float = Field(
        default=50.0,
        gt=0,
        le=1000,
        description="time one tool call's argument check may take on the event loop; past it "
        "the call is blocked (too_costly)",
    )
    audit: AuditSettings = AuditSettings()

"""Settings of ``/v1/responses``: how long stored responses live and how far a chain may grow."""

from __future__ import annotations

from pydantic import Field

from configs._strict import Strict

__all__ = ["ResponsesSettings"]


class ResponsesSettings(Strict):
    """Stored responses (``store: true``), ``previous_response_id`` chains and file_search."""

    retention_days: int = Field(
        default=30, ge=1, description="stored responses older than this are gone (and purged)"
    )
    max_conversation_items: int = Field(
        default=1000,
        ge=1,
        description="a previous_response_id chain with more items than this is refused (400)",
    )
    max_file_searches: int = Field(
        default=3, ge=1, le=10, description="file_search rounds the gateway runs per response"
    )
    synchronous_commit: bool = Field(
        default=False,
        description="wait for a stored response's write to reach disk before answering; off: "
        "a Postgres crash may lose the last moments of stored responses (never corrupt them), "
        "and each stored response answers about a disk flush sooner",
    )

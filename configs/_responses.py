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
    background_queue: str = Field(
        default="responses",
        min_length=1,
        description="the workers' queue for background responses (background: true)",
    )
    background_concurrency: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="background responses one worker process runs at once",
    )
    background_max_pending_per_key: int = Field(
        default=100,
        ge=1,
        le=1_000_000,
        description="background responses one key may have queued or running; one more is "
        "refused (429)",
    )
    background_lease_s: float = Field(
        default=30.0,
        ge=2,
        le=3600,
        description="a running background response whose worker has not renewed its lease "
        "for this long is run again (its worker died)",
    )
    background_max_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="runs a background response gets before it fails (workers that died)",
    )
    stream_poll_s: float = Field(
        default=0.05,
        gt=0,
        le=5,
        description="how often a followed background stream looks for new events",
    )

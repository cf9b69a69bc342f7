"""Settings of the Batch API (``/v1/batches``): input limits and how lines run on workers."""

from __future__ import annotations

from pydantic import Field

from configs._strict import Strict

__all__ = ["BatchSettings"]


class BatchSettings(Strict):
    """Batches of chat, embeddings or Responses requests, run by ``ragway worker``."""

    queue: str = Field(default="batches", min_length=1, description="the workers' queue")
    max_requests: int = Field(
        default=50_000, ge=1, le=1_000_000, description="lines one input file may hold"
    )
    max_input_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="the largest input file read"
    )
    lines_per_job: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="lines one queue message runs (concurrently, within the limit below)",
    )
    concurrency_per_model: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="lines of one model alias in flight at once in one worker process",
    )

"""Settings of webhook deliveries: where they may go, how long each may take, how they retry."""

from __future__ import annotations

from pydantic import Field, model_validator

from configs._strict import Strict

__all__ = ["WebhookSettings"]


class WebhookSettings(Strict):
    """Signed event deliveries to the endpoints admins register (``/admin/webhooks``)."""

    queue: str = Field(
        default="webhooks", min_length=1, description="the worker queue deliveries run on"
    )
    allow_private_targets: bool = Field(
        default=False,
        description="deliver to URLs that resolve to loopback, private, link-local or other "
        "non-public addresses (off: refused when an endpoint is saved and at every delivery)",
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="one delivery's TCP (and TLS) connect"
    )
    timeout_s: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="one delivery from DNS lookup to the last byte read; longer is a failed "
        "attempt",
    )
    max_response_bytes: int = Field(
        default=4096, ge=0, le=1_048_576, description="of a receiver's answer, read at most"
    )
    max_url_length: int = Field(default=2048, ge=64, le=8192)
    first_retry_s: float = Field(
        default=5.0, gt=0, description="the wait after the first failed attempt"
    )
    max_retry_s: float = Field(
        default=3600.0,
        gt=0,
        description="waits double after each failed attempt up to this (plus or minus jitter)",
    )
    retry_jitter: float = Field(
        default=0.2, ge=0, lt=1, description="each wait varies by up to this fraction"
    )
    max_age_s: float = Field(
        default=86_400.0,
        gt=0,
        description="a delivery is retried until this long after its event; then it fails",
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        description="delivered and failed deliveries, and events left without deliveries, are "
        "purged this long after they ended (deliveries) or happened (events)",
    )
    lost_job_after_s: float = Field(
        default=900.0,
        gt=0,
        description="a pending or retrying delivery this long past its next attempt, with no "
        "attempt under way, lost its job: it is staged again, or failed once its window ended",
    )
    upkeep_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="how often each worker purges the log and sweeps lost deliveries",
    )

    @model_validator(mode="after")
    def _retries_grow(self) -> WebhookSettings:
        if self.max_retry_s < self.first_retry_s:
            raise ValueError("max_retry_s must be at least first_retry_s")
        return self

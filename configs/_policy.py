"""Settings of the access policy: the API key cache, quotas in Redis and the usage ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from configs._strict import Strict

__all__ = ["KeyCacheSettings", "PolicySettings", "QuotaSettings", "UsageSettings"]


class KeyCacheSettings(Strict):
    """How long a gateway process trusts a key it looked up in Postgres.

    While the process is subscribed to key-change notifications in Redis, a change reaches it
    at once and ``ttl_s`` is only a backstop; while it is not, entries live ``fallback_ttl_s``
    so that a revoked or changed key still takes effect within that time.
    """

    ttl_s: float = Field(default=60.0, gt=0)
    fallback_ttl_s: float = Field(default=1.0, gt=0)
    max_entries: int = Field(default=10_000, ge=1)


class QuotaSettings(Strict):
    """Per-key rate limits and budgets, checked and reserved by one Redis script per request."""

    enabled: bool = True
    on_redis_error: Literal["open", "closed"] = Field(
        default="open",
        description="open: keep serving under per-process fallback limits; closed: answer 503",
    )
    fallback_fraction: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="per-process share of each key's limits while Redis is down",
    )
    redis_retry_s: float = Field(
        default=1.0, gt=0, description="while Redis is down, how often one request tries it again"
    )
    default_completion_tokens: int = Field(
        default=1024, ge=1, description="reserved for the answer when a request sets no max_tokens"
    )
    chars_per_token: float = Field(default=4.0, gt=0, description="prompt token estimate")


class UsageSettings(Strict):
    """The usage ledger: buffered in each process, written to Postgres in batches.

    Costs come from the deployments' prices (``providers.models.*.deployments[].*_price_per_1m``).
    """

    batch_size: int = Field(default=500, ge=1)
    flush_interval_s: float = Field(default=1.0, gt=0)
    max_buffer: int = Field(
        default=200_000, ge=1, description="records kept while Postgres is unreachable"
    )
    retry_max_s: float = Field(default=10.0, gt=0, description="longest wait between retries")


class PolicySettings(Strict):
    """API keys, quotas and usage."""

    keys: KeyCacheSettings = KeyCacheSettings()
    quotas: QuotaSettings = QuotaSettings()
    usage: UsageSettings = UsageSettings()

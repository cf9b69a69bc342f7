"""Settings of the Prometheus exposition shared by every ragway process."""

from __future__ import annotations

from pydantic import Field

from configs._strict import Strict

__all__ = ["MetricsSettings"]


class MetricsSettings(Strict):
    """What the gateway's and the workers' ``/metrics`` show beyond their own counters."""

    created_series: bool = Field(
        default=False,
        description="also export a <name>_created series per counter and histogram "
        "(prometheus_client's default; noise for most scrapers)",
    )
    budget_keys: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="budget gauges for at most this many keys with a monthly budget, those "
        "nearest their limit; 0: none",
    )
    budget_refresh_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="the budget gauges are read from the usage ledger at most this often",
    )

"""Counters of deliveries ending, lost jobs found and log rows purged, in a worker's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["WebhookMetrics"]


class WebhookMetrics:
    """This process's share: every worker counts what it did (sum them across workers)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.delivered = Counter(
            "ragway_webhook_deliveries_delivered",
            "Deliveries a receiver accepted (2xx)",
            registry=registry,
        )
        self.failed = Counter(
            "ragway_webhook_deliveries_failed",
            "Deliveries that ended failed, by reason: retries_exhausted (the retry window "
            "ended after a failed attempt), endpoint_disabled, job_lost (the window ended "
            "with no attempt under way: its job was lost)",
            ["reason"],
            registry=registry,
        )
        self.restaged = Counter(
            "ragway_webhook_deliveries_restaged",
            "Open deliveries found past their next attempt with no job: staged again",
            registry=registry,
        )
        self.purged = Counter(
            "ragway_webhook_log_purged",
            "Rows purged after webhooks.retention_days, by table (deliveries, events)",
            ["table"],
            registry=registry,
        )

"""The CPU server's own /metrics, read as Prometheus would: how tests see inside it."""

from __future__ import annotations

from tests.support.net import wait_until
from tests.support.prometheus import metric_value

__all__ = ["cancellations", "idle", "metric", "stopped_after"]


def metric(cpu_server: str, name: str, **labels: str) -> float:
    return metric_value(cpu_server.removesuffix("/v1") + "/metrics", name, **labels)


def idle(cpu_server: str) -> bool:
    return (
        metric(cpu_server, "ragway_inference_active_generations") == 0
        and metric(cpu_server, "ragway_inference_waiting_generations") == 0
    )


def cancellations(cpu_server: str) -> float:
    return metric(cpu_server, "ragway_inference_generations_total", finish_reason="cancelled")


def stopped_after(cpu_server: str, cancelled_before: float) -> None:
    """One more generation ends as cancelled, and nothing is left running or waiting."""
    wait_until(lambda: cancellations(cpu_server) == cancelled_before + 1, timeout_s=15)
    assert idle(cpu_server)

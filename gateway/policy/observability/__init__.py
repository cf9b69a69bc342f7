"""Request ids (on every response), the access log and Prometheus metrics of the gateway."""

from __future__ import annotations

from gateway.policy.observability._context import (
    REQUEST_ID,
    accept_request_id,
    install_log_context,
    new_request_id,
)
from gateway.policy.observability._metrics import (
    MetricsGate,
    exposition,
    prepare_multiprocess_metrics,
    process_exiting,
    serve_metrics,
)
from gateway.policy.observability._observer import RequestObserver
from gateway.policy.observability._request_id import RequestIdMiddleware

__all__ = [
    "REQUEST_ID",
    "MetricsGate",
    "RequestIdMiddleware",
    "RequestObserver",
    "accept_request_id",
    "exposition",
    "install_log_context",
    "new_request_id",
    "prepare_multiprocess_metrics",
    "process_exiting",
    "serve_metrics",
]

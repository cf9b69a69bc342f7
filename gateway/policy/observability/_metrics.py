"""Prometheus metrics of the gateway core.

Defined once per process on the default registry, like every prometheus_client metric. With
``PROMETHEUS_MULTIPROC_DIR`` set before the process starts (``ragway gateway`` does this for
``--workers`` > 1) the values live in files shared by all workers and ``exposition`` merges
them. Label values are bounded: routes are fixed, models are configured aliases (anything
else is ``unknown``), deployments come from configuration.

A scraper that asks for OpenMetrics (``Accept: application/openmetrics-text``, as Prometheus
does) gets it, with the latency histograms' exemplars (``trace_id`` of a traced request; one
process only: prometheus_client keeps no exemplars in multiprocess mode); others get the
classic text format.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    make_wsgi_app,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

__all__ = [
    "BREAKER_STATE",
    "BUSY_POLL",
    "FALLBACKS",
    "IN_FLIGHT",
    "OVERHEAD",
    "REQUESTS",
    "REQUEST_DURATION",
    "TIME_TO_FIRST_TOKEN",
    "TOKENS",
    "UPSTREAM_DURATION",
    "UPSTREAM_ERRORS",
    "MetricsGate",
    "exposition",
    "prepare_multiprocess_metrics",
    "process_exiting",
    "serve_metrics",
]

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_OVERHEAD = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)

REQUESTS = Counter(
    "ragway_requests_total",
    "API requests by route, model alias and HTTP status.",
    ["route", "model", "status"],
)
REQUEST_DURATION = Histogram(
    "ragway_request_duration_seconds",
    "Total time to serve an API request (to the last byte for streams).",
    ["route", "model"],
    buckets=_LATENCY,
)
UPSTREAM_DURATION = Histogram(
    "ragway_upstream_duration_seconds",
    "Time spent waiting for upstreams per request (to the first chunk for streams).",
    ["route", "model"],
    buckets=_LATENCY,
)
OVERHEAD = Histogram(
    "ragway_gateway_overhead_seconds",
    "The gateway's own time per request: total minus upstream, up to the response start.",
    ["route"],
    buckets=_OVERHEAD,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "ragway_time_to_first_token_seconds",
    "Streams: time from the request to the first chunk sent to the client.",
    ["model"],
    buckets=_LATENCY,
)
TOKENS = Counter(
    "ragway_tokens_total",
    "Tokens by model alias and direction (input, output), as reported by upstreams.",
    ["model", "direction"],
)
UPSTREAM_ERRORS = Counter(
    "ragway_upstream_errors_total",
    "Failed upstream attempts by deployment and kind (connect, timeout, protocol, 429, 5xx, 4xx).",
    ["deployment", "kind"],
)
FALLBACKS = Counter(
    "ragway_fallbacks_total",
    "Requests that moved on to another attempt after this deployment failed.",
    ["deployment"],
)
BREAKER_STATE = Gauge(
    "ragway_circuit_breaker_state",
    "Circuit breaker per deployment: 0 closed, 1 open, 2 half-open.",
    ["deployment"],
    multiprocess_mode="livemax",
)
BUSY_POLL = Counter(
    "ragway_busy_poll_seconds",
    "Seconds the event loop polled, not slept, after requests arrived (gateway.busy_poll_us).",
)
IN_FLIGHT = Gauge(
    "ragway_requests_in_flight",
    "API requests being served now.",
    ["route"],
    multiprocess_mode="livesum",
)


def exposition(accept: str | None = None, *, extra: Collector | None = None) -> tuple[bytes, str]:
    """The metrics of this process (of all gateway workers in multiprocess mode) and of
    ``extra``, in the format the ``accept`` header asks for: (body, content type)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_scraped(extra)), content_type


def _scraped(extra: Collector | None) -> CollectorRegistry:
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    if extra is None:
        return registry
    joined = CollectorRegistry(auto_describe=False)  # no collect() at register time
    joined.register(_Forward(registry))
    joined.register(extra)
    return joined


class _Forward(Collector):
    """Another registry's metrics, as one collector of a registry that adds more."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


class MetricsGate(Protocol):
    """Who may read the metrics port: None lets the request in, else (status, JSON body)."""

    def __call__(self, authorization: str | None) -> tuple[int, bytes] | None: ...


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


def serve_metrics(
    host: str, port: int, *, gate: MetricsGate | None = None, extra: Collector | None = None
) -> WSGIServer:
    """Serve the exposition (and ``extra``'s metrics) on its own port from this process
    (daemon threads); the format is negotiated as ``exposition`` does.

    Called by ``ragway gateway`` before the workers start: with one worker the app runs in
    this process; with several this process reads the shared multiprocess files. With a
    ``gate`` (``metrics_auth: admin``) every request passes it first, as ``/metrics`` does.
    """
    exposition_app = make_wsgi_app(_scraped(extra))

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if gate is not None:
            refused = gate(environ.get("HTTP_AUTHORIZATION"))
            if refused is not None:
                status, body = refused
                start_response(
                    f"{status} {HTTPStatus(status).phrase}",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
                return [body]
        result: Iterable[bytes] = exposition_app(environ, start_response)
        return result

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class _OnFamily(_Server):
        address_family = family  # IPv6 hosts too

    server = make_server(host, port, app, _OnFamily, handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics-port").start()
    return server


def prepare_multiprocess_metrics(folder: Path) -> None:
    """Before worker processes start: share metric values through files in ``folder``.

    Emptied first (values of an earlier run must not be merged in); an operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` is respected as it is.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def process_exiting() -> None:
    """A worker is shutting down: drop its live gauges from the shared files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

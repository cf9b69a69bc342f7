"""A ``ragway gateway`` process (tracing on, to a loopback OTLP sink) and a ``ragway worker``
process on the session's services, scraped as Prometheus scrapes them."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar, Response, post
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.api.conftest import ENV, deployment
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port
from tests.support.servers import ServerThread, start_process

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
# USD per 1M tokens of the priced deployment: the spend counter and the ledger agree on them
INPUT_PRICE, OUTPUT_PRICE = 3000.0, 6000.0
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
}


@dataclass(frozen=True)
class Stack:
    gateway: str  # base URL of the API port
    metrics_port: str  # the ``ragway gateway`` process's own metrics port
    worker_metrics: str


def scrape(url: str, *, openmetrics: bool = False) -> httpx.Response:
    headers = {"Accept": OPENMETRICS} if openmetrics else {}
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def families(response: httpx.Response) -> list[Any]:
    """The families of a scrape, parsed as the format its content type names."""
    if response.headers["content-type"].startswith("application/openmetrics-text"):
        return list(openmetrics_families(response.text))  # type: ignore[no-untyped-call]
    return list(text_string_to_metric_families(response.text))


def exposed_names(text: str) -> set[str]:
    """Every series name a PromQL query could use on this exposition (families without
    samples yet included: their names follow from their type)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + s for s in _SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def priced_models(fake: FakeOpenAI) -> dict[str, Any]:
    return {
        "chat": {
            "deployments": [
                deployment(
                    "obs-a",
                    fake.base_url,
                    "gpt-test",
                    input_price_per_1m=INPUT_PRICE,
                    output_price_per_1m=OUTPUT_PRICE,
                )
            ]
        }
    }


@post("/v1/traces", status_code=200)
async def _traces() -> Response[bytes]:
    return Response(b"", media_type="application/x-protobuf")  # an empty ExportTraceServiceResponse


@pytest.fixture(scope="session")
def otlp_sink() -> Iterator[str]:
    """Where the gateway's spans go (accepted, not read: the tracing tests read them)."""
    with ServerThread(Litestar(route_handlers=[_traces])) as server:
        yield server.base_url


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(stack_env: dict[str, str], otlp_sink: str, upstream: FakeOpenAI) -> Iterator[Stack]:
    port, metrics_port, worker_port = free_port(), free_port(), free_port()
    gateway_env = {
        **stack_env,
        **ENV,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(priced_models(upstream)),
        "RAGWAY_PROVIDERS__OBSERVABILITY__METRICS_PORT": str(metrics_port),
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_sink,  # the standard variable turns tracing on
    }
    gateway = start_process(
        ["gateway", "--port", str(port)],
        gateway_env,
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )
    worker_env = {**stack_env, "RAGWAY_INGESTION__METRICS_PORT": str(worker_port)}
    worker_url = f"http://127.0.0.1:{worker_port}/metrics"
    worker = start_process(["worker"], worker_env, ready_url=worker_url)
    try:
        yield Stack(
            gateway=f"http://127.0.0.1:{port}",
            metrics_port=f"http://127.0.0.1:{metrics_port}/metrics",
            worker_metrics=worker_url,
        )
    finally:
        for process in (gateway, worker):
            process.send_signal(signal.SIGTERM)
        for process in (gateway, worker):
            process.wait(timeout=30)

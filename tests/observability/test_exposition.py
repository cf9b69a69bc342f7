"""``/metrics`` as a scraper sees it: OpenMetrics (with exemplars that name a trace) when the
``Accept`` header asks for it, the classic format otherwise, and no ``_created`` series unless
``metrics.created_series`` asks -- on the API port, the gateway's metrics port and a worker."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from configs import MetricsSettings, Settings
from gateway.entry.app import create_app
from gateway.policy.observability import RequestObserver, exposition
from gateway.policy.pipeline import Call
from ingestion.metrics import use_created_series
from tests.gateway.api.conftest import insert_key
from tests.observability.conftest import Stack, families, scrape
from tests.support.net import wait_until
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

HELLO: Any = [{"role": "user", "content": "hello there"}]


def urls(stack: Stack) -> dict[str, str]:
    return {
        "api": f"{stack.gateway}/metrics",
        "metrics_port": stack.metrics_port,
        "worker": stack.worker_metrics,
    }


@pytest.mark.parametrize("where", ["api", "metrics_port", "worker"])
def test_the_format_follows_the_accept_header(stack: Stack, where: str) -> None:
    url = urls(stack)[where]
    classic = scrape(url)
    assert classic.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# EOF" not in classic.text
    modern = scrape(url, openmetrics=True)
    assert modern.headers["content-type"].startswith("application/openmetrics-text")
    assert modern.text.endswith("# EOF\n")
    # both parse, as the format they claim, into the same families
    assert {f.name for f in families(classic)} == {f.name for f in families(modern)}


@pytest.mark.parametrize("where", ["api", "metrics_port", "worker"])
def test_no_created_series_by_default(stack: Stack, database_url: str, where: str) -> None:
    openai.OpenAI(
        base_url=f"{stack.gateway}/v1", api_key=insert_key(database_url), max_retries=0
    ).chat.completions.create(model="chat", messages=HELLO)  # counters with children
    for openmetrics in (False, True):
        scraped = families(scrape(urls(stack)[where], openmetrics=openmetrics))
        counters = [f for f in scraped if f.type in ("counter", "histogram") and f.samples]
        assert counters  # there is something that would have a _created series
        created = [s.name for f in scraped for s in f.samples if s.name.endswith("_created")]
        assert created == []


def test_the_worker_says_whether_postgres_and_redis_answer(stack: Stack) -> None:
    text = scrape(stack.worker_metrics).text
    assert "\nragway_postgres_up 1.0\n" in text
    assert "\nragway_redis_up 1.0\n" in text


def test_a_traced_request_is_an_exemplar_of_its_latency_buckets(
    stack: Stack, database_url: str
) -> None:
    client = openai.OpenAI(
        base_url=f"{stack.gateway}/v1", api_key=insert_key(database_url), max_retries=0
    )
    answer = client.chat.completions.with_raw_response.create(model="chat", messages=HELLO)
    request_id = answer.headers["x-request-id"]
    assert request_id
    found: dict[str, set[str]] = {}

    def exemplars_seen() -> bool:
        found.clear()
        for family in families(scrape(f"{stack.gateway}/metrics", openmetrics=True)):
            for sample in family.samples:
                if sample.exemplar is not None and sample.labels.get("model") == "chat":
                    found.setdefault(family.name, set()).add(sample.exemplar.labels["trace_id"])
        return {"ragway_request_duration_seconds", "ragway_upstream_duration_seconds"} <= set(found)

    wait_until(exemplars_seen, timeout_s=5)
    for trace_ids in found.values():
        assert all(len(t) == 32 and int(t, 16) for t in trace_ids)
    # the classic format has no exemplars: a scraper that does not ask never sees them
    assert " # {" not in scrape(f"{stack.gateway}/metrics").text


def test_the_observer_records_the_call_trace_id_as_the_exemplar() -> None:
    """In-process: the exemplar is the trace id the call carries (the observer records after
    the request's span ended), on every latency it observes; none without a trace."""
    observer = RequestObserver(models={"exemplar-model"})
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = Call(request_id="req_traced", endpoint="exemplar.route", started=time.perf_counter())
    traced.trace_ids = (trace_id, "00f067aa0ba902b7")
    traced.model, traced.first_byte_s, traced.overhead_s = "exemplar-model", 0.01, 0.001
    untraced = Call(request_id="req_plain", endpoint="exemplar.plain", started=time.perf_counter())
    untraced.model = "exemplar-model"
    for call in (traced, untraced):
        observer.started(call.endpoint)
        observer.finished(call, time.perf_counter())
    observer.flush()
    body, content_type = exposition("application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    exemplars: dict[tuple[str, str], set[str]] = {}
    for family in openmetrics_families(body.decode()):  # type: ignore[no-untyped-call]
        for sample in family.samples:
            route = sample.labels.get("route") or sample.labels.get("model", "")
            if sample.exemplar is not None:
                key = (family.name, route)
                exemplars.setdefault(key, set()).add(sample.exemplar.labels["trace_id"])
    assert exemplars[("ragway_request_duration_seconds", "exemplar.route")] == {trace_id}
    assert exemplars[("ragway_gateway_overhead_seconds", "exemplar.route")] == {trace_id}
    assert exemplars[("ragway_time_to_first_token_seconds", "exemplar-model")] == {trace_id}
    assert ("ragway_request_duration_seconds", "exemplar.plain") not in exemplars


def test_created_series_come_back_when_the_setting_asks(
    settings: Settings, database_url: str, redis_service: RedisForTests
) -> None:
    asked = settings.model_copy(update={"metrics": MetricsSettings(created_series=True)})
    app = create_app(asked, database_url=database_url, redis_url=redis_service.url)
    try:
        with ServerThread(app) as server:
            names = [
                s.name for f in families(scrape(f"{server.base_url}/metrics")) for s in f.samples
            ]
            assert "ragway_requests_total" in names or "ragway_busy_poll_seconds_total" in names
            assert any(name.endswith("_created") for name in names)
    finally:
        use_created_series(False)  # the switch is process-wide: back to the default
    assert b"_created" not in exposition()[0]

"""OpenTelemetry traces from real processes, received by a real OTLP/HTTP receiver.

A ``ragway gateway`` and a ``ragway worker`` export to ``OtlpReceiver`` (configured by the
standard ``OTEL_*`` variables only); the official ``openai`` SDK calls the gateway. Checked:
the span tree of a chat request (server span, a span per policy step that worked, the
upstream attempt with the GenAI conventions, ``traceparent`` forwarded upstream), a stream,
a fallback, a client's ``traceparent`` continued, an upload followed to the worker's spans
and a file_search chat; and that no PII value and no key secret is in any span.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from openai import OpenAI

from tests.gateway.pii.corpus import build_corpus
from tests.support.fake_openai import FakeOpenAI
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.support.pii_wire import PII, RAW
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.processes import GatewayProcess, insert_key
from tests.support.servers import start_process


@dataclass
class Traced:
    url: str
    key: str
    receiver: OtlpReceiver
    upstream: FakeOpenAI
    gateway: GatewayProcess

    def client(self, **headers: str) -> OpenAI:
        return OpenAI(
            base_url=f"{self.url}/v1", api_key=self.key, max_retries=0, default_headers=headers
        )


@pytest.fixture(scope="module")
def traced(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Traced]:
    with OtlpReceiver() as receiver, FakeOpenAI() as upstream:
        models = dict(priced_providers(upstream.base_url)["models"])  # type: ignore[call-overload]
        fallback = json.loads(json.dumps(models["chat"]))
        first = dict(fallback["deployments"][0], name="broken-a", model="fault-500")
        second = dict(fallback["deployments"][0], name="chat-b")
        fallback["deployments"] = [dict(first, weight=1000), second]
        models["fallback"] = fallback
        folder = tmp_path_factory.mktemp("traces")
        env = {
            **stack_env,
            **UPSTREAM_ENV,
            "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
            "RAGWAY_PROVIDERS__ROUTING__BACKOFF_INITIAL_S": "0",
            "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-traces",
            "RAGWAY_DATA_DIR": str(folder / "data"),
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # the SDK's batch: export within 0.1 s
            "RAGWAY_LOGGING__LEVEL": "INFO",  # the access log
        }
        _, key = insert_key(database_url, f"traces-{secrets.token_hex(3)}")
        with GatewayProcess(env, folder / "gateway.log") as gateway:
            worker = start_process(["worker"], env)
            try:
                yield Traced(gateway.url, key, receiver, upstream, gateway)
            finally:
                worker.terminate()
                worker.wait(timeout=30)


def server_span(traced: Traced, request_id: str) -> ReceivedSpan:
    (span,) = traced.receiver.wait_for(
        lambda s: s.kind == "server" and s.attributes.get("ragway.request_id") == request_id
    )
    return span


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


def settled(traced: Traced, trace_id: str, count: int) -> list[ReceivedSpan]:
    traced.receiver.wait_for(lambda s: s.trace_id == trace_id, count=count)
    time.sleep(0.3)  # stragglers of the same export
    return traced.receiver.trace(trace_id)


def test_a_chat_request_is_a_server_span_with_policy_steps_and_one_upstream_attempt(
    traced: Traced,
) -> None:
    raw = traced.client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "hello there"}]
    )
    request_id = raw.headers["x-request-id"]
    root = server_span(traced, request_id)
    assert root.name == "POST /v1/chat/completions"
    assert root.parent_span_id == ""
    assert root.resource["service.name"] == "ragway-gateway"
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["gen_ai.request.model"] == "chat"
    spans = settled(traced, root.trace_id, 4)
    names = {s.name for s in children(spans, root)}
    assert {"ragway.auth", "ragway.quota", "chat gpt-test"} <= names
    assert "ragway.model_access" not in names  # a remembered verdict is no span
    assert "ragway.pii" not in names  # nothing found: nothing masked, no span
    (attempt,) = [s for s in spans if s.name == "chat gpt-test"]
    assert attempt.kind == "client"
    assert attempt.attributes["gen_ai.operation.name"] == "chat"
    assert attempt.attributes["gen_ai.provider.name"] == "openai"
    assert attempt.attributes["gen_ai.request.model"] == "gpt-test"
    assert attempt.attributes["gen_ai.response.model"] == "gpt-test"
    assert attempt.attributes["gen_ai.usage.output_tokens"] > 0
    assert attempt.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    # The upstream was told which span called it.
    sent = traced.upstream.requests[-1].headers["traceparent"]
    assert sent.split("-")[1:3] == [root.trace_id, attempt.span_id]
    # The access log line names the request's span.
    lines = [
        json.loads(line) for line in traced.gateway.log_text().splitlines() if request_id in line
    ]
    (access,) = [line for line in lines if line.get("logger") == "ragway.access"]
    assert (access["trace_id"], access["span_id"]) == (root.trace_id, root.span_id)


def test_a_stream_s_attempt_lasts_to_its_last_chunk(traced: Traced) -> None:
    stream = traced.client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "stream it"}], stream=True
    )
    request_id = stream.headers["x-request-id"]
    chunks = [chunk for chunk in stream.parse() if chunk.choices]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text
    root = server_span(traced, request_id)
    assert root.attributes["ragway.stream"] is True
    spans = settled(traced, root.trace_id, 4)
    (attempt,) = [s for s in spans if s.kind == "client"]
    assert attempt.attributes["gen_ai.usage.output_tokens"] > 0
    assert attempt.attributes["ragway.time_to_first_chunk_s"] > 0
    assert attempt.end_ns <= root.end_ns


def test_a_fallback_is_two_attempts_and_an_event(traced: Traced) -> None:
    raw = traced.client().chat.completions.with_raw_response.create(
        model="fallback", messages=[{"role": "user", "content": "fall back"}]
    )
    root = server_span(traced, raw.headers["x-request-id"])
    spans = settled(traced, root.trace_id, 5)
    attempts = sorted((s for s in spans if s.kind == "client"), key=lambda s: s.start_ns)
    assert [a.attributes["ragway.deployment"] for a in attempts] == ["broken-a", "chat-b"]
    assert attempts[0].status_code == 2
    assert attempts[0].attributes["error.type"] == "5xx"
    assert attempts[1].status_code != 2
    assert [name for name, _ in root.events] == ["ragway.fallback"]
    assert root.events[0][1] == {"ragway.from": "broken-a", "ragway.to": "chat-b"}


def test_a_client_traceparent_is_continued(traced: Traced) -> None:
    trace_id = secrets.token_hex(16)
    parent = secrets.token_hex(8)
    client = traced.client(traceparent=f"00-{trace_id}-{parent}-01", baggage="user=alice")
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "continue my trace"}]
    )
    root = server_span(traced, raw.headers["x-request-id"])
    assert (root.trace_id, root.parent_span_id) == (trace_id, parent)
    assert "baggage" not in traced.upstream.requests[-1].headers  # not accepted by default


def test_a_client_that_samples_out_is_followed_and_nothing_points_to_its_trace(
    traced: Traced,
) -> None:
    trace_id = secrets.token_hex(16)
    client = traced.client(traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-00")
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "not sampled"}]
    )
    request_id = raw.headers["x-request-id"]
    after = traced.client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "sampled"}]
    )
    server_span(traced, after.headers["x-request-id"])  # exported after the first one's
    assert traced.receiver.trace(trace_id) == []
    # The upstream still gets the (unsampled) trace context: the client's decision holds.
    assert f"-{trace_id}-" in traced.upstream.requests[-2].headers["traceparent"]
    lines = [
        json.loads(line) for line in traced.gateway.log_text().splitlines() if request_id in line
    ]
    (access,) = [line for line in lines if line.get("logger") == "ragway.access"]
    assert "trace_id" not in access


def test_an_upload_is_followed_to_the_worker_and_a_file_search_chat(traced: Traced) -> None:
    client = traced.client()
    text = "The leave policy grants twenty days of paid leave per year to every employee."
    file = client.files.create(file=("policy.txt", text.encode()), purpose="assistants")
    store = client.vector_stores.create(name=f"traces-{secrets.token_hex(3)}")
    added = client.vector_stores.files.with_raw_response.create(
        vector_store_id=store.id, file_id=file.id
    )
    adding = traced.receiver.wait_for(
        lambda s: s.kind == "server" and s.name.startswith("POST /v1/vector_stores/")
    )[-1]
    assert added.http_response.status_code == 200
    worker = traced.receiver.wait_for(
        lambda s: s.trace_id == adding.trace_id and s.name == "ragway.ingest.store", timeout_s=90
    )[0]
    assert worker.resource["service.name"] == "ragway-worker"
    spans = traced.receiver.trace(adding.trace_id)
    names = {s.name for s in spans}
    assert {"ragway.ingest.parse", "ragway.ingest.chunk", "ragway.ingest.embed"} <= names
    (chunked,) = [s for s in spans if s.name == "ragway.ingest.chunk"]
    assert chunked.attributes["ragway.chunks"] >= 1
    consumer = [s for s in spans if s.kind == "consumer"]
    assert consumer
    assert consumer[0].attributes["messaging.destination.name"] == "ingestion"

    raw = client.chat.completions.with_raw_response.create(
        model="chat",
        messages=[{"role": "user", "content": "How many days of leave?"}],
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],  # type: ignore[list-item]
    )
    root = server_span(traced, raw.headers["x-request-id"])
    spans = settled(traced, root.trace_id, 5)
    (retrieval,) = [s for s in spans if s.name == "ragway.retrieval"]
    assert retrieval.attributes["ragway.retrieval.stores"] == 1
    assert retrieval.attributes["ragway.retrieval.hits"] >= 1


def test_a_background_response_s_run_on_the_worker_continues_its_trace(traced: Traced) -> None:
    raw = traced.client().responses.with_raw_response.create(
        model="chat", input="later, please", background=True
    )
    root = server_span(traced, raw.headers["x-request-id"])
    assert root.name == "POST /v1/responses"
    run = traced.receiver.wait_for(
        lambda s: (
            s.trace_id == root.trace_id
            and s.kind == "server"
            and s.resource["service.name"] == "ragway-worker"
        ),
        timeout_s=60,
    )[0]
    assert run.name == "POST /v1/responses"
    spans = settled(traced, root.trace_id, 4)
    consumer = [s for s in spans if s.kind == "consumer"]
    assert [s.attributes["ragway.actor"] for s in consumer] == ["response_run"]
    assert run.parent_span_id == consumer[0].span_id
    assert any(s.kind == "client" and s.parent_span_id == run.span_id for s in spans)


def test_no_pii_value_and_no_key_secret_is_exported(traced: Traced) -> None:
    raw = traced.client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": f"mail {PII} please"}]
    )
    root = server_span(traced, raw.headers["x-request-id"])
    spans = settled(traced, root.trace_id, 5)
    (pii,) = [s for s in spans if s.name == "ragway.pii"]
    assert pii.attributes["ragway.pii.findings"] >= 2
    assert pii.attributes["ragway.pii.email_address"] >= 1
    # The policy tests' labelled corpus, through chat and a stream: none of its values (nor
    # the key) is in any span of any process.
    corpus = [item for item in build_corpus(size=40) if item.labels]
    client = traced.client()
    for n, item in enumerate(corpus):
        client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": item.text}], stream=n % 2 == 1
        )
    last = traced.client().chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "the end"}]
    )
    server_span(traced, last.headers["x-request-id"])
    time.sleep(0.5)
    everything = " ".join(text for span in traced.receiver.spans for text in span.texts())
    values = [item.text[start:end] for item in corpus for _, start, end in item.labels]
    assert len(values) >= 40
    for value in (*RAW, *values, traced.key):
        assert value not in everything

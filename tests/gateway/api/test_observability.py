"""Access log, Prometheus metrics (one process and several workers), the circuit breaker."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from gateway.policy.observability import REQUEST_ID, RequestObserver, install_log_context
from gateway.policy.pipeline import Call
from tests.gateway.api.conftest import ENV, deployment
from tests.support.net import free_port, wait_until
from tests.support.servers import ServerThread, start_process
from tests.support.services import RedisForTests

HELLO: Any = [{"role": "user", "content": "a secret prompt"}]


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_one_access_line_per_request_without_prompt_text(
    client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ragway.access"):
        response = client.chat.completions.with_raw_response.create(
            model="chat",
            messages=HELLO,
            extra_headers={"X-Request-ID": "trace-42"},
        )
        # the line is written once the response is out, so it may trail the client a little
        wait_until(lambda: any(r.name == "ragway.access" for r in caplog.records), timeout_s=5)
    lines = [r for r in caplog.records if r.name == "ragway.access"]
    assert len(lines) == 1
    line = lines[0]
    assert response.headers["x-request-id"] == "trace-42"
    fields = vars(line)
    assert fields["request_id"] == "trace-42"
    assert fields["key_id"].startswith("key_")
    assert fields["model"] == "chat"
    assert fields["deployment"] == "chat-a"
    assert fields["status"] == 200
    assert fields["prompt_tokens"] == 3
    assert fields["latency_ms"] >= fields["upstream_ms"] > 0
    assert "secret" not in json.dumps(fields, default=str)


def test_every_log_line_of_a_request_carries_its_request_id(
    client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="chat-500", messages=HELLO, extra_headers={"X-Request-ID": "trace-500"}
        )
    attempts = [r for r in caplog.records if r.name == "gateway.providers.routing._router"]
    assert len(attempts) == 3  # one warning per failed attempt, from the routing layer
    assert {vars(r)["request_id"] for r in attempts} == {"trace-500"}
    assert {vars(r)["deployment"] for r in attempts} == {"chat-500-a"}


def test_metrics_count_requests_tokens_and_bounded_labels(
    client: openai.OpenAI, api_url: str
) -> None:
    before = httpx.get(f"{api_url}/metrics").text
    client.chat.completions.create(model="chat", messages=HELLO)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="made-up-model-123", messages=HELLO)
    list(client.chat.completions.create(model="chat", messages=HELLO, stream=True))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="chat-500", messages=HELLO)
    after = ""

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    def recorded() -> bool:  # each request is counted just after its response went out
        nonlocal after
        after = httpx.get(f"{api_url}/metrics").text
        polled = delta("ragway_busy_poll_seconds_total") > 0  # counted when a stretch ends
        return delta("ragway_requests_total", route="chat.completions") == 4 and polled

    wait_until(recorded, timeout_s=5)

    assert delta("ragway_requests_total", route="chat.completions", model="chat", status="200") == 2
    assert delta("ragway_requests_total", route="chat.completions", model="unknown") == 1
    assert "made-up-model-123" not in after
    assert delta("ragway_tokens_total", model="chat", direction="input") == 6
    assert delta("ragway_time_to_first_token_seconds_count", model="chat") == 1
    assert delta("ragway_gateway_overhead_seconds_count", route="chat.completions") >= 2
    assert delta("ragway_upstream_errors_total", deployment="chat-500-a", kind="5xx") == 3
    assert delta("ragway_fallbacks_total", deployment="chat-500-a") == 2
    assert metric(after, "ragway_requests_in_flight", route="chat.completions") == 0
    assert 0 < delta("ragway_busy_poll_seconds_total") < 1  # gateway.busy_poll_us: 500 µs
    assert metric(after, "ragway_circuit_breaker_state", deployment="chat-a") == 0
    promtool = shutil.which("promtool")
    if promtool is not None:  # Debian's prometheus package; not installed in CI
        check = subprocess.run(
            [promtool, "check", "metrics"], input=after, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_breaker_opens_and_metrics_show_it(
    settings: Settings, database_url: str, redis_service: RedisForTests, api_key: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    providers = ProvidersSettings.model_validate(
        {
            "models": {"down": {"deployments": [deployment("down-a", dead, "m")]}},
            "routing": {"max_attempts": 1, "breaker_failures": 2, "breaker_cooldown_s": 60},
            "observability": {"metrics_auth": "admin"},
        }
    )
    app = create_app(
        settings.model_copy(update={"providers": providers}),
        database_url=database_url,
        redis_url=redis_service.url,
        env=ENV,
    )
    with ServerThread(app) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=api_key, max_retries=0)
        for _ in range(2):
            with pytest.raises(openai.InternalServerError) as refused:
                client.chat.completions.create(model="down", messages=HELLO)
            assert refused.value.status_code == 502
        with pytest.raises(openai.InternalServerError) as open_breaker:
            client.chat.completions.create(model="down", messages=HELLO)
        assert open_breaker.value.status_code == 503
        assert open_breaker.value.code == "model_unavailable"
        # metrics_auth: admin -> a member key may not read them
        assert httpx.get(f"{server.base_url}/metrics").status_code == 401
        member = {"Authorization": f"Bearer {api_key}"}
        assert httpx.get(f"{server.base_url}/metrics", headers=member).status_code == 403


@pytest.mark.timeout(120)
def test_metrics_add_up_across_worker_processes(
    stack_env: dict[str, str], tmp_path: Path, api_key: str
) -> None:
    from tests.support.fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        port, metrics_port = free_port(), free_port()
        models = {"chat": {"deployments": [deployment("chat-mp", fake.base_url, "m")]}}
        env = {
            **stack_env,
            **ENV,
            "RAGWAY_DATA_DIR": str(tmp_path),
            "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
            "RAGWAY_GATEWAY__WORKERS": "2",
            "RAGWAY_PROVIDERS__OBSERVABILITY__METRICS_PORT": str(metrics_port),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        process = start_process(
            ["gateway", "--port", str(port)], env, ready_url=f"http://127.0.0.1:{port}/readyz"
        )
        try:
            for _ in range(12):  # new connections: the kernel spreads them over both workers
                with openai.OpenAI(
                    base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key, max_retries=0
                ) as client:
                    client.chat.completions.create(model="chat", messages=HELLO)
            # The separate metrics port (the parent process) sees every worker's requests --
            # each worker records its calls within a few ms (RequestObserver's batches) ...
            wait_until(
                lambda: (
                    metric(
                        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text,
                        "ragway_requests_total",
                        model="chat",
                        status="200",
                    )
                    == 12
                ),
                timeout_s=5,
            )
            for _ in range(4):  # ... and so does whichever worker answers /metrics
                text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                assert metric(text, "ragway_requests_total", model="chat", status="200") == 12
            # both workers write their values to the shared folder (breaker gauges at start)
            files = [p.name for p in (tmp_path / "prometheus").glob("gauge_livemax_*.db")]
            assert len(files) == 2
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None


async def test_calls_are_recorded_in_batches_each_line_naming_its_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_context()
    observer = RequestObserver(models=["chat"], batch_s=0.05)

    def access() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "ragway.access"]

    with caplog.at_level(logging.INFO, logger="ragway.access"):
        for n in range(3):
            call = Call(request_id=f"req_batch{n}", endpoint="chat.completions", started=0.0)
            call.model = "chat"
            token = REQUEST_ID.set(call.request_id)  # as while the request is served
            observer.finished(call, 0.001)
            REQUEST_ID.reset(token)
        assert access() == []  # not yet: the batch window is open
        await asyncio.sleep(0.2)
        ids = [getattr(r, "request_id", None) for r in access()]
        assert ids == ["req_batch0", "req_batch1", "req_batch2"]
        observer.finished(Call(request_id="req_now", endpoint="embeddings", started=0.0), 0.001)
        observer.flush()  # what /metrics and shutdown do
        assert getattr(access()[-1], "request_id", None) == "req_now"

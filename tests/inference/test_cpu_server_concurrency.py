"""Generation never blocks the event loop, requests take fair turns, and a client that leaves
stops its generation. Observed from outside: timings, /health and the server's /metrics."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import openai
import pytest

from tests.inference.conftest import CHAT_MODEL
from tests.inference.server_metrics import cancellations, idle, metric, stopped_after
from tests.support.net import wait_until

LONG: dict[str, Any] = {"max_tokens": 1500, "extra_body": {"ignore_eos": True}}
MESSAGES: list[Any] = [{"role": "user", "content": "Tell me a long story."}]


@pytest.fixture(scope="module")
def client(cpu_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=cpu_server, api_key="unused", max_retries=0)


def test_disconnect_stops_a_streamed_generation(client: openai.OpenAI, cpu_server: str) -> None:
    wait_until(lambda: idle(cpu_server), timeout_s=60)
    cancelled = cancellations(cpu_server)
    tokens = metric(cpu_server, "ragway_inference_tokens_total", kind="completion")
    stream = client.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, stream=True, **LONG
    )
    received = 0
    for chunk in stream:
        received += bool(chunk.choices and chunk.choices[0].delta.content)
        if received == 3:
            break
    stream.close()
    stopped_after(cpu_server, cancelled)
    spent = metric(cpu_server, "ragway_inference_tokens_total", kind="completion") - tokens
    assert 3 <= spent < 1500


def test_disconnect_stops_a_whole_response_generation(cpu_server: str) -> None:
    wait_until(lambda: idle(cpu_server), timeout_s=60)
    cancelled = cancellations(cpu_server)
    body = {"model": CHAT_MODEL, "messages": MESSAGES, "max_tokens": 1500, "ignore_eos": True}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{cpu_server}/chat/completions", json=body, timeout=httpx.Timeout(5, read=0.5))
    stopped_after(cpu_server, cancelled)


def test_short_request_is_not_stuck_behind_a_long_one(
    client: openai.OpenAI, cpu_server: str
) -> None:
    wait_until(lambda: idle(cpu_server), timeout_s=60)
    long_done = threading.Event()
    long_started = threading.Event()

    def long_request() -> None:
        stream = client.chat.completions.create(
            model=CHAT_MODEL, messages=MESSAGES, stream=True, **{**LONG, "max_tokens": 300}
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                long_started.set()
        long_done.set()

    thread = threading.Thread(target=long_request)
    thread.start()
    assert long_started.wait(30)
    # The event loop is free while the long generation runs: /health answers at once.
    began = time.perf_counter()
    assert httpx.get(cpu_server.removesuffix("/v1") + "/health").status_code == 200
    health_s = time.perf_counter() - began
    short = client.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, max_tokens=5, extra_body={"ignore_eos": True}
    )
    short_finished_first = not long_done.is_set()
    thread.join(timeout=120)
    assert short.usage is not None
    assert short.usage.completion_tokens == 5
    assert short_finished_first, "the short request waited for the long one"
    assert health_s < 0.5


def test_full_queue_is_refused_with_503(client: openai.OpenAI, cpu_server: str) -> None:
    # max_active=2, max_queued=2: a fifth concurrent request finds no room.
    wait_until(lambda: idle(cpu_server), timeout_s=60)
    streams = [
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True, **LONG)
        for _ in range(4)
    ]
    try:
        wait_until(
            lambda: metric(cpu_server, "ragway_inference_waiting_generations") == 2, timeout_s=10
        )
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, max_tokens=2)
        assert info.value.status_code == 503
        assert isinstance(info.value.body, dict)
        assert info.value.body["code"] == "server_busy"
    finally:
        for stream in streams:
            stream.close()
    wait_until(lambda: idle(cpu_server), timeout_s=20)

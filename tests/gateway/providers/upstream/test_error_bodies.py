"""Upstream error bodies never reach a member or a log verbatim (issue 16, finding 6).

Real loopback upstreams misbehave as careless ones do: a 401 that echoes the request's
headers (so the gateway's provider API key), a 400 that quotes the prompt. The official
``openai`` client calls the running gateway (its HTTP front, and plain ASGI) as a member;
every log record the gateway writes meanwhile (message, extra fields, tracebacks) is
collected and searched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from configs import ProvidersSettings, Settings
from gateway.api import HTTP_PROTOCOL
from gateway.entry.app import create_app
from tests.gateway.api.conftest import insert_key
from tests.support.fake_anthropic import API_KEY as ANTHROPIC_KEY
from tests.support.fake_anthropic import ErrorReply, FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

# Not shaped like any known key: only the gateway's knowledge of its own key can hide it.
UPSTREAM_KEY = "Zq7-upstream-secret-for-tests"
PROMPT = "purple walrus plans the heist at dawn"
HI: Any = [{"role": "user", "content": PROMPT}]


class LogText(logging.Handler):
    """Every record, as everything a log formatter could print of it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        parts = []
        for record in self.records:
            parts.append(record.getMessage())
            parts.append(json.dumps(vars(record), default=repr))
            if record.exc_info:
                parts.append(self._formatter.formatException(record.exc_info))
        return "\n".join(parts)


def _openai(name: str, base_url: str, model: str, **extra: Any) -> dict[str, Any]:
    deployment = {
        "name": name,
        "provider": "openai",
        "model": model,
        "base_url": base_url,
        "api_key_env": "UPSTREAM_KEY",
    }
    return {**extra, "deployments": [deployment]}


@pytest.fixture(scope="module", params=["front", "asgi"])
def gateway_url(
    request: pytest.FixtureRequest,
    settings: Settings,
    database_url: str,
    redis_service: RedisForTests,
    upstream: FakeOpenAI,
    anthropic: FakeAnthropic,
) -> Iterator[str]:
    claude = {
        "name": "claude-a",
        "provider": "anthropic",
        "model": "claude-test",
        "base_url": anthropic.base_url,
        "api_key_env": "ANTHROPIC_KEY",
    }
    providers = ProvidersSettings.model_validate(
        {
            "models": {
                "echo-401": _openai("echo-401-a", upstream.base_url, "fault-401-echo"),
                "quote-400": _openai("quote-400-a", upstream.base_url, "fault-400-quote"),
                "embed-401": _openai(
                    "embed-401-a", upstream.base_url, "fault-401-echo", type="embedding"
                ),
                "embed-400": _openai(
                    "embed-400-a", upstream.base_url, "fault-400-quote", type="embedding"
                ),
                "claude": {"deployments": [claude]},
            },
            "routing": {"max_attempts": 1, "breaker_failures": 10_000},
        }
    )
    env = {"UPSTREAM_KEY": UPSTREAM_KEY, "ANTHROPIC_KEY": ANTHROPIC_KEY}
    app = create_app(
        settings.model_copy(update={"providers": providers}),
        database_url=database_url,
        redis_url=redis_service.url,
        env=env,
    )
    # as `ragway gateway` serves it, and every route through ASGI under uvicorn's protocol
    http = HTTP_PROTOCOL if request.param == "front" else "httptools"
    with ServerThread(app, http=http) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def client(gateway_url: str, database_url: str) -> openai.OpenAI:
    key = insert_key(database_url)
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def logs() -> Iterator[LogText]:
    root = logging.getLogger()
    handler = LogText()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _request_done(logs: LogText, request_id: str) -> None:
    """Wait for the access line, written once the response is out."""

    def written() -> bool:
        return any(
            r.name == "ragway.access" and vars(r).get("request_id") == request_id
            for r in logs.records
        )

    wait_until(written, timeout_s=5)


def _chat(client: openai.OpenAI, model: str, *, stream: bool, request_id: str) -> None:
    headers = {"X-Request-ID": request_id}
    if stream:
        for _ in client.chat.completions.create(
            model=model, messages=HI, stream=True, extra_headers=headers
        ):
            pass
    else:
        client.chat.completions.create(model=model, messages=HI, extra_headers=headers)


def _error_text(error: openai.APIStatusError) -> str:
    return f"{error.message} {json.dumps(error.body)}"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_upstream_401_echoing_the_key_reaches_neither_member_nor_log(
    client: openai.OpenAI, upstream: FakeOpenAI, logs: LogText, stream: bool
) -> None:
    request_id = f"echo-401-{stream}"
    with pytest.raises(openai.InternalServerError) as caught:
        _chat(client, "echo-401", stream=stream, request_id=request_id)
    assert UPSTREAM_KEY in upstream.requests[-1].headers["authorization"]  # it was echoed
    error = caught.value
    _request_done(logs, request_id)
    assert UPSTREAM_KEY not in _error_text(error)
    assert UPSTREAM_KEY not in logs.text()
    assert error.status_code == 502
    assert error.code == "upstream_auth_failed"
    assert "rejected the gateway's credentials" in error.message
    assert "Invalid credentials" not in error.message  # no upstream text at all
    failed = [r for r in logs.records if r.getMessage() == "upstream attempt failed"]
    assert [(vars(r)["upstream_status"], vars(r)["provider"]) for r in failed] == [(401, "openai")]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_upstream_400_quoting_the_prompt_tells_the_member_not_the_log(
    client: openai.OpenAI, logs: LogText, stream: bool
) -> None:
    request_id = f"quote-400-{stream}"
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(client, "quote-400", stream=stream, request_id=request_id)
    error = caught.value
    assert error.code == "context_length_exceeded"
    assert error.param == "messages"
    assert "maximum context length" in error.message  # the member learns what was wrong
    _request_done(logs, request_id)
    text = logs.text()
    assert "context_length_exceeded" in text  # the log says what kind of failure it was
    assert PROMPT not in text
    assert "walrus" not in text


def test_embeddings_errors_are_mapped_alike(client: openai.OpenAI, logs: LogText) -> None:
    with pytest.raises(openai.InternalServerError) as denied:
        client.embeddings.create(
            model="embed-401", input=PROMPT, extra_headers={"X-Request-ID": "embed-401"}
        )
    assert UPSTREAM_KEY not in _error_text(denied.value)
    assert denied.value.code == "upstream_auth_failed"
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(
            model="embed-400", input=PROMPT, extra_headers={"X-Request-ID": "embed-400"}
        )
    assert "maximum context length" in refused.value.message
    _request_done(logs, "embed-400")
    text = logs.text()
    assert UPSTREAM_KEY not in text
    assert "walrus" not in text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_errors_in_its_own_shape_are_mapped_alike(
    client: openai.OpenAI, anthropic: FakeAnthropic, logs: LogText, stream: bool
) -> None:
    anthropic.enqueue(
        ErrorReply(401, "authentication_error", "invalid x-api-key", echo_headers=True),
        ErrorReply(400, "invalid_request_error", "prompt is too long", echo_prompt=True),
    )
    with pytest.raises(openai.InternalServerError) as denied:
        _chat(client, "claude", stream=stream, request_id=f"claude-401-{stream}")
    assert ANTHROPIC_KEY in anthropic.requests[-1].headers["x-api-key"]  # it was echoed
    assert ANTHROPIC_KEY not in _error_text(denied.value)
    assert denied.value.code == "upstream_auth_failed"
    with pytest.raises(openai.BadRequestError) as refused:
        _chat(client, "claude", stream=stream, request_id=f"claude-400-{stream}")
    assert "prompt is too long" in refused.value.message
    _request_done(logs, f"claude-400-{stream}")
    text = logs.text()
    assert ANTHROPIC_KEY not in text
    assert "authentication_error" in text
    assert "walrus" not in text

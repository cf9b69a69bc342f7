"""``/v1/messages`` is counted as chat is: a usage ledger row, metrics, rate limits.

The fakes report token counts the ledger can be checked against: the fake OpenAI counts words
(``hello ledger world`` is 3 tokens in, ``echo: hello ledger world`` 4 out), the fake
Anthropic reports 11 in and 7 out. ``count_tokens`` goes through the same policy but calls no
upstream, so it charges no tokens.
"""

from __future__ import annotations

import secrets
from typing import Any

import anthropic
import pytest

from tests.support.keys import insert_key
from tests.support.ledger import settled_row
from tests.support.net import wait_until
from tests.support.prometheus import metric_value

MODELS = ["claude", "chat-translate"]
PROMPT = "hello ledger world"
# (input, output) tokens each fake reports for PROMPT
TOKENS = {"claude": (11, 7), "chat-translate": (3, 4)}


@pytest.fixture
def claude(api_url: str, api_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api_url, api_key=api_key, max_retries=0, timeout=20)


def _request(model: str, request_id: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    if request_id is not None:
        request["extra_headers"] = {"X-Request-ID": request_id}
    return request


def _request_id() -> str:
    return f"msg-acct-{secrets.token_hex(6)}"


@pytest.mark.parametrize("model", MODELS)
def test_a_message_writes_a_ledger_row_with_the_upstream_token_counts(
    claude: anthropic.Anthropic, database_url: str, model: str
) -> None:
    request_id = _request_id()
    message = claude.messages.create(**_request(model, request_id))
    assert (message.usage.input_tokens, message.usage.output_tokens) == TOKENS[model]
    row = settled_row(database_url, request_id)
    assert row["endpoint"] == "messages"
    assert row["model"] == model
    assert row["deployment"] == f"{model}-a"
    assert (row["prompt_tokens"], row["completion_tokens"]) == TOKENS[model]
    assert row["streamed"] is False
    assert row["status"] == 200


@pytest.mark.parametrize("model", MODELS)
def test_a_streamed_message_settles_its_usage(
    claude: anthropic.Anthropic, database_url: str, model: str
) -> None:
    request_id = _request_id()
    with claude.messages.stream(**_request(model, request_id)) as stream:
        final = stream.get_final_message()
    assert (final.usage.input_tokens, final.usage.output_tokens) == TOKENS[model]
    row = settled_row(database_url, request_id)
    assert row["endpoint"] == "messages"
    assert row["model"] == model
    assert row["streamed"] is True
    assert (row["prompt_tokens"], row["completion_tokens"]) == TOKENS[model]
    assert row["status"] == 200


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens_charges_no_tokens(
    claude: anthropic.Anthropic, api_url: str, database_url: str, model: str
) -> None:
    url = f"{api_url}/metrics"
    before = metric_value(url, "ragway_tokens_total", model=model)
    request_id = _request_id()
    counted = claude.messages.count_tokens(
        model=model,
        messages=[{"role": "user", "content": PROMPT}],
        extra_headers={"X-Request-ID": request_id},
    )
    assert counted.input_tokens > 0
    # the request is still recorded (it went through auth and policy), at no tokens
    row = settled_row(database_url, request_id)
    assert row["endpoint"] == "messages.count_tokens"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (0, 0)
    assert metric_value(url, "ragway_tokens_total", model=model) == before


# (metric, labels, how much one create on chat-translate and one stream on claude add)
EXPECTED: list[tuple[str, dict[str, str], float]] = [
    ("ragway_requests_total", {"route": "messages", "model": "claude", "status": "200"}, 1),
    ("ragway_requests_total", {"route": "messages", "model": "chat-translate"}, 1),
    ("ragway_request_duration_seconds_count", {"route": "messages"}, 2),
    ("ragway_gateway_overhead_seconds_count", {"route": "messages"}, 2),
    ("ragway_tokens_total", {"model": "chat-translate", "direction": "input"}, 3),
    ("ragway_tokens_total", {"model": "claude", "direction": "input"}, 11),
    ("ragway_tokens_total", {"model": "claude", "direction": "output"}, 7),
    ("ragway_time_to_first_token_seconds_count", {"model": "claude"}, 1),
]


def test_metrics_carry_the_messages_route(claude: anthropic.Anthropic, api_url: str) -> None:
    url = f"{api_url}/metrics"

    def requests() -> float:
        return metric_value(url, "ragway_requests_total", route="messages")

    requests_before = requests()
    before = [metric_value(url, name, **labels) for name, labels, _ in EXPECTED]
    claude.messages.create(**_request("chat-translate"))
    with claude.messages.stream(**_request("claude")) as stream:
        stream.get_final_message()
    # each request is counted just after its response went out
    wait_until(lambda: requests() == requests_before + 2, timeout_s=5)
    wait_until(lambda: metric_value(url, "ragway_requests_in_flight", route="messages") == 0)
    grown = [
        metric_value(url, name, **labels) - was
        for (name, labels, _), was in zip(EXPECTED, before, strict=True)
    ]
    assert grown == [added for _, _, added in EXPECTED]


@pytest.mark.parametrize("model", MODELS)
def test_a_key_over_its_rpm_gets_a_rate_limit_error_with_both_header_sets(
    api_url: str, database_url: str, model: str
) -> None:
    key = insert_key(database_url, rpm=2)
    client = anthropic.Anthropic(base_url=api_url, api_key=key, max_retries=0, timeout=20)
    remaining = []
    for _ in range(2):
        raw = client.messages.with_raw_response.create(**_request(model))
        assert raw.headers["anthropic-ratelimit-requests-limit"] == "2"
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        remaining.append(int(raw.headers["anthropic-ratelimit-requests-remaining"]))
    assert remaining == [1, 0]
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(**_request(model))
    headers = refused.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-limit-hit"] == "rpm"
    assert headers["anthropic-ratelimit-requests-limit"] == "2"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    error: Any = refused.value.body
    assert error["type"] == "error"
    assert error["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.RateLimitError) as streamed:  # streams are refused the same way
        _read_stream(client, model)
    assert streamed.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert streamed.value.response.headers["retry-after"]


def _read_stream(client: anthropic.Anthropic, model: str) -> None:
    with client.messages.stream(**_request(model)) as stream:
        stream.get_final_message()

"""``/v1/responses`` is counted as chat is: a usage ledger row, metrics, rate limits.

The fake upstream reports its token counts (words in, words out), so the ledger can be
checked against them: ``hello ledger world`` is 3 tokens in, ``echo: hello ledger world``
4 out, from a native Responses upstream (``chat``) and a chat one (``chat-translate``).
"""

from __future__ import annotations

import secrets

import openai
import pytest

from tests.support.keys import insert_key
from tests.support.ledger import settled_row
from tests.support.net import wait_until
from tests.support.prometheus import metric_value

MODELS = ["chat", "chat-translate"]
PROMPT = "hello ledger world"


def _request_id() -> str:
    return f"resp-acct-{secrets.token_hex(6)}"


@pytest.mark.parametrize("model", MODELS)
def test_a_response_writes_a_ledger_row_with_the_upstream_token_counts(
    client: openai.OpenAI, database_url: str, model: str
) -> None:
    request_id = _request_id()
    response = client.responses.create(
        model=model, input=PROMPT, store=False, extra_headers={"X-Request-ID": request_id}
    )
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 4)
    row = settled_row(database_url, request_id)
    assert row["endpoint"] == "responses"
    assert row["model"] == model
    assert row["deployment"] == f"{model}-a"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (3, 4)
    assert row["streamed"] is False
    assert row["status"] == 200


@pytest.mark.parametrize("model", MODELS)
def test_a_streamed_response_settles_its_usage(
    client: openai.OpenAI, database_url: str, model: str
) -> None:
    request_id = _request_id()
    with client.responses.stream(
        model=model, input=PROMPT, store=False, extra_headers={"X-Request-ID": request_id}
    ) as stream:
        final = stream.get_final_response()
    assert final.usage is not None
    assert final.usage.total_tokens > 0
    row = settled_row(database_url, request_id)
    assert row["endpoint"] == "responses"
    assert row["streamed"] is True
    assert row["prompt_tokens"] > 0
    assert row["completion_tokens"] > 0
    assert (row["prompt_tokens"], row["completion_tokens"]) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )


# (metric, labels, how much one create on chat-translate and one stream on chat add)
EXPECTED: list[tuple[str, dict[str, str], float]] = [
    ("ragway_requests_total", {"route": "responses", "model": "chat", "status": "200"}, 1),
    ("ragway_requests_total", {"route": "responses", "model": "chat-translate"}, 1),
    ("ragway_request_duration_seconds_count", {"route": "responses"}, 2),
    ("ragway_gateway_overhead_seconds_count", {"route": "responses"}, 2),
    ("ragway_tokens_total", {"model": "chat-translate", "direction": "input"}, 3),
    ("ragway_tokens_total", {"model": "chat", "direction": "input"}, 3),
    ("ragway_time_to_first_token_seconds_count", {"model": "chat"}, 1),
]


def test_metrics_carry_the_responses_route(client: openai.OpenAI, api_url: str) -> None:
    url = f"{api_url}/metrics"

    def requests() -> float:
        return metric_value(url, "ragway_requests_total", route="responses")

    requests_before = requests()
    before = [metric_value(url, name, **labels) for name, labels, _ in EXPECTED]
    client.responses.create(model="chat-translate", input=PROMPT, store=False)
    with client.responses.stream(model="chat", input=PROMPT, store=False) as stream:
        stream.get_final_response()
    # each request is counted just after its response went out
    wait_until(lambda: requests() == requests_before + 2, timeout_s=5)
    wait_until(lambda: metric_value(url, "ragway_requests_in_flight", route="responses") == 0)
    grown = [
        metric_value(url, name, **labels) - was
        for (name, labels, _), was in zip(EXPECTED, before, strict=True)
    ]
    assert grown == [added for _, _, added in EXPECTED]


@pytest.mark.parametrize("model", MODELS)
def test_a_key_over_its_rpm_gets_a_429_with_rate_limit_headers(
    api_url: str, database_url: str, model: str
) -> None:
    key = insert_key(database_url, rpm=2)
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key=key, max_retries=0, timeout=20)
    remaining = []
    for _ in range(2):
        raw = client.responses.with_raw_response.create(model=model, input=PROMPT, store=False)
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        remaining.append(int(raw.headers["x-ratelimit-remaining-requests"]))
    assert remaining == [1, 0]
    with pytest.raises(openai.RateLimitError) as refused:
        client.responses.create(model=model, input=PROMPT, store=False)
    headers = refused.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-limit-hit"] == "rpm"
    assert headers["x-ratelimit-limit-requests"] == "2"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    error = refused.value.body
    assert isinstance(error, dict)
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    with (
        pytest.raises(openai.RateLimitError),  # streams are refused the same way
        client.responses.stream(model=model, input=PROMPT, store=False) as stream,
    ):
        stream.get_final_response()

"""``/v1/messages`` end to end: the official ``anthropic`` client, the gateway, loopback upstreams.

``claude`` is a deployment on the fake Anthropic API (the request is translated to chat for the
policy steps and back by the Anthropic adapter); ``chat-translate`` is one on the fake OpenAI
server (chat completions). Both fakes record what they received.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from tests.gateway.api.conftest import insert_key
from tests.support.fake_anthropic import FakeAnthropic, Reply, ToolUse
from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key as insert_columns

MODELS = ["claude", "chat-translate"]
WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"q": {"type": "string"}},
        "required": ["q"],
    },
}


@pytest.fixture
def claude(api_url: str, api_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api_url, api_key=api_key, max_retries=0, timeout=20)


def _upstream_text(model: str, fake_a: FakeOpenAI, fake_anthropic: FakeAnthropic) -> str:
    if model == "claude":
        return json.dumps(fake_anthropic.last.json)
    return json.dumps(fake_a.requests[-1].body)


@pytest.mark.parametrize("model", MODELS)
def test_create_answers_an_anthropic_message(
    claude: anthropic.Anthropic, model: str, fake_a: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    message = claude.messages.create(
        model=model,
        max_tokens=100,
        system="be brief",
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == model
    assert message.stop_reason == "end_turn"
    text = "".join(block.text for block in message.content if block.type == "text")
    assert text  # the fakes answer with text
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    sent = _upstream_text(model, fake_a, fake_anthropic)
    assert "be brief" in sent
    assert "hello there" in sent


@pytest.mark.parametrize("model", MODELS)
def test_the_sdk_stream_helper_accumulates_the_message(
    claude: anthropic.Anthropic, model: str
) -> None:
    kinds: list[str] = []
    with claude.messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    for kind in ("content_block_start", "content_block_delta", "content_block_stop"):
        assert kind in kinds
    assert "message_delta" in kinds
    assert final.stop_reason == "end_turn"
    assert final.content[0].type == "text"
    assert final.content[0].text
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip_on_a_chat_upstream(
    claude: anthropic.Anthropic, fake_a: FakeOpenAI, stream: bool
) -> None:
    request: Any = {
        "model": "chat-translate",
        "max_tokens": 100,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Paris"}],
    }
    if stream:
        with claude.messages.stream(**request) as events:
            first = events.get_final_message()
    else:
        first = claude.messages.create(**request)
    assert first.stop_reason == "tool_use"
    (use,) = [block for block in first.content if block.type == "tool_use"]
    assert use.name == "get_weather"
    assert use.input == {"q": "Paris"}
    sent = fake_a.requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    turns: Any = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": [use.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
        },
    ]
    second = claude.messages.create(
        model="chat-translate", max_tokens=100, tools=[WEATHER], messages=turns
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text"
    assert second.content[0].text.strip() == "echo: sunny"
    messages = fake_a.requests[-1].body["messages"]
    assert messages[-1] == {"role": "tool", "tool_call_id": use.id, "content": "sunny"}


def test_tool_use_from_an_anthropic_upstream(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(
        Reply(content=(ToolUse("toolu_1", "get_weather", {"q": "Oslo"}),), stop_reason="tool_use")
    )
    message = claude.messages.create(
        model="claude",
        max_tokens=100,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Oslo"}],
    )
    assert message.stop_reason == "tool_use"
    (use,) = [block for block in message.content if block.type == "tool_use"]
    assert (use.id, use.name, use.input) == ("toolu_1", "get_weather", {"q": "Oslo"})
    assert fake_anthropic.last.json["tools"][0]["name"] == "get_weather"


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens(
    claude: anthropic.Anthropic, model: str, fake_a: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    before = (len(fake_a.requests), len(fake_anthropic.requests))
    counted = claude.messages.count_tokens(
        model=model,
        system="be brief",
        messages=[{"role": "user", "content": "one two three four five six"}],
    )
    assert counted.input_tokens > 0
    if model == "claude":  # Anthropic counts it itself
        assert len(fake_anthropic.requests) == before[1] + 1
        assert fake_anthropic.last.path == "/v1/messages/count_tokens"
        sent = fake_anthropic.last.json
        assert "max_tokens" not in sent
        assert "one two three four five six" in json.dumps(sent)
        words = len(json.dumps([sent.get("system"), sent["messages"], None]).split())
        assert counted.input_tokens == words + 3  # the fake's count, not an estimate
    else:  # estimated here: no upstream call at all
        assert (len(fake_a.requests), len(fake_anthropic.requests)) == before


def test_the_key_may_come_as_bearer_too(api_url: str, api_key: str) -> None:
    client = anthropic.Anthropic(
        base_url=api_url, auth_token=api_key, api_key=None, max_retries=0, timeout=20
    )
    message = client.messages.create(
        model="chat-translate", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content


def test_models_are_listed_in_anthropic_shape(claude: anthropic.Anthropic) -> None:
    ids = [model.id for model in claude.models.list()]
    assert "claude" in ids
    assert "chat-translate" in ids
    assert claude.models.retrieve("claude").type == "model"


@pytest.mark.parametrize(
    ("make_request", "error"),
    [
        (
            lambda c: c.messages.create(model="chat-translate", max_tokens=10, messages=[]),
            anthropic.BadRequestError,
        ),
        (
            lambda c: c.messages.create(
                model="chat-translate", max_tokens=0, messages=[{"role": "user", "content": "x"}]
            ),
            anthropic.BadRequestError,
        ),
        (
            lambda c: c.messages.create(
                model="chat-translate",
                max_tokens=10,
                messages=[{"role": "user", "content": [{"type": "bogus"}]}],
            ),
            anthropic.BadRequestError,
        ),
        (
            lambda c: c.messages.create(
                model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            ),
            anthropic.NotFoundError,
        ),
    ],
)
def test_bad_input_is_an_anthropic_shaped_4xx(
    claude: anthropic.Anthropic, make_request: Any, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        make_request(claude)
    body = caught.value.body  # type: ignore[attr-defined]
    assert body["type"] == "error"
    assert body["error"]["type"] in ("invalid_request_error", "not_found_error")
    assert body["error"]["message"]


def test_refusals_map_to_the_sdk_exception_classes(api_url: str, database_url: str) -> None:
    bad = anthropic.Anthropic(base_url=api_url, api_key="sk-rgw-nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        bad.messages.create(
            model="chat-translate", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    limited = insert_key(database_url, models=("chat",))
    other = anthropic.Anthropic(base_url=api_url, api_key=limited, max_retries=0)
    with pytest.raises((anthropic.PermissionDeniedError, anthropic.NotFoundError)):
        other.messages.create(
            model="chat-translate", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )


def test_rate_limits_are_anthropic_shaped_with_its_headers(api_url: str, database_url: str) -> None:
    key = insert_columns(database_url, rpm=1)
    client = anthropic.Anthropic(base_url=api_url, api_key=key, max_retries=0)
    request: Any = {
        "model": "chat-translate",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
    }
    first = client.messages.with_raw_response.create(**request)
    assert first.headers["anthropic-ratelimit-requests-limit"] == "1"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert first.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**request)
    response = caught.value.response
    assert response.headers["retry-after"]
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_anthropic_beta_reaches_anthropic_upstreams_only(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_a: FakeOpenAI
) -> None:
    beta = {"anthropic-beta": "prompt-caching-2024-07-31,token-efficient-tools-2025-02-19"}
    request: Any = {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    claude.messages.create(model="claude", extra_headers=beta, **request)
    sent = fake_anthropic.last.headers["anthropic-beta"]
    assert sent == "prompt-caching-2024-07-31,token-efficient-tools-2025-02-19"
    claude.messages.create(model="chat-translate", extra_headers=beta, **request)
    assert "anthropic-beta" not in fake_a.requests[-1].headers
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="claude", extra_headers={"anthropic-beta": "x\u00e9; evil=1"}, **request
        )
    assert "anthropic-beta" in caught.value.body["error"]["message"]  # type: ignore[index]


def test_cache_breakpoints_reach_anthropic_upstreams_and_are_checked(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, fake_a: FakeOpenAI
) -> None:
    tool: Any = {**WEATHER, "cache_control": {"type": "ephemeral"}}
    system: Any = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]
    request: Any = {
        "max_tokens": 10,
        "system": system,
        "tools": [tool],
        "tool_choice": {"type": "none"},
        "messages": [{"role": "user", "content": "x"}],
    }
    claude.messages.create(model="claude", **request)
    sent = fake_anthropic.last.json
    assert sent["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    claude.messages.create(model="chat-translate", **request)
    assert "cache_control" not in fake_a.requests[-1].body["tools"][0]
    odd: Any = [{**WEATHER, "cache_control": {"type": "ephemeral", "note": "free text"}}]
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model="claude", **{**request, "tools": odd})


@pytest.mark.parametrize("model", MODELS)
def test_a_pii_block_is_an_anthropic_400_and_nothing_leaves(
    api_url: str,
    database_url: str,
    model: str,
    fake_a: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
) -> None:
    key = insert_columns(database_url, pii_policy="block")
    client = anthropic.Anthropic(base_url=api_url, api_key=key, max_retries=0)
    before = (len(fake_a.requests), len(fake_anthropic.requests))
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=model,
            max_tokens=10,
            messages=[{"role": "user", "content": "mail jane.doe@example.com please"}],
        )
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert "jane.doe@example.com" not in error["message"]
    assert (len(fake_a.requests), len(fake_anthropic.requests)) == before

"""``/v1/responses`` end to end: the official ``openai`` client, the gateway, loopback upstreams.

Every behaviour runs against both upstream kinds: ``chat`` is a deployment whose upstream
speaks Responses natively (the fake answers ``/v1/responses``), ``chat-translate`` one that
gets chat completions. The fake records what it received.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import openai
import pytest

from tests.gateway.api.conftest import insert_key
from tests.support.fake_openai import FakeOpenAI

MODELS = ["chat", "chat-translate"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"q": {"type": "string"}},  # what the fake upstream calls it with
        "required": ["q"],
    },
}


def _last(fake: FakeOpenAI) -> tuple[str, dict[str, Any]]:
    received = fake.requests[-1]
    return received.path, received.body


def _native(model: str) -> bool:
    return model == "chat"


def _texts(body: dict[str, Any]) -> str:
    """Everything the upstream was sent, as one string (for 'is it in there' checks)."""
    return json.dumps(body)


@pytest.mark.parametrize("model", MODELS)
def test_create_answers_a_response_and_reaches_the_right_upstream_api(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    response = client.responses.create(
        model=model,
        input="hello there",
        instructions="be brief",
        max_output_tokens=50,
        temperature=0.5,
        metadata={"team": "a"},
        store=False,
    )
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == "echo: hello there"
    assert response.instructions == "be brief"
    assert response.metadata == {"team": "a"}
    assert response.usage is not None
    assert response.usage.total_tokens > 0
    path, sent = _last(fake_a)
    if _native(model):
        assert path == "/v1/responses"
        assert sent["store"] is False  # the gateway keeps it; the upstream must not
        assert sent["max_output_tokens"] == 50
    else:
        assert path == "/v1/chat/completions"
        assert sent["messages"][0] == {"role": "system", "content": "be brief"}
        assert sent["max_completion_tokens"] == 50
    assert sent["model"] == "gpt-test"  # the deployment's model, not the alias
    assert sent["temperature"] == 0.5


@pytest.mark.parametrize("model", MODELS)
def test_stream_events_parse_and_accumulate(client: openai.OpenAI, model: str) -> None:
    kinds: list[str] = []
    numbers: list[int] = []
    with client.responses.stream(model=model, input="stream me please") as stream:
        for event in stream:
            kinds.append(event.type)
            numbers.append(event.sequence_number)
        final = stream.get_final_response()
    assert final.output_text.strip() == "echo: stream me please"
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert "response.output_item.done" in kinds
    assert numbers == list(range(len(numbers)))
    assert client.responses.retrieve(final.id).output_text == final.output_text


@pytest.mark.parametrize("model", MODELS)
def test_retrieve_delete_and_input_items(client: openai.OpenAI, model: str) -> None:
    response = client.responses.create(
        model=model,
        input=[
            {"role": "developer", "content": "answer in English"},
            {"role": "user", "content": [{"type": "input_text", "text": "what is up"}]},
        ],
    )
    assert client.responses.retrieve(response.id).output_text == "echo: what is up"
    items = client.responses.input_items.list(response.id, order="asc")
    assert [item.type for item in items.data] == ["message", "message"]
    assert [getattr(item, "role", None) for item in items.data] == ["developer", "user"]
    assert all(item.id for item in items.data)
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


@pytest.mark.parametrize("model", MODELS)
def test_previous_response_id_sends_the_conversation(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    first = client.responses.create(model=model, input="my name is Ada")
    second = client.responses.create(
        model=model, input="what is my name", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    _, sent = _last(fake_a)
    text = _texts(sent)
    assert text.index("my name is Ada") < text.index("echo: my name is Ada")
    assert text.index("echo: my name is Ada") < text.index("what is my name")
    # a third turn sees both earlier turns
    client.responses.create(model=model, input="and again", previous_response_id=second.id)
    assert "my name is Ada" in _texts(_last(fake_a)[1])
    assert "echo: what is my name" in _texts(_last(fake_a)[1])


def test_store_false_is_not_kept(client: openai.OpenAI) -> None:
    response = client.responses.create(model="chat", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="chat", input="x", previous_response_id=response.id)
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_another_keys_response_is_not_found(
    client: openai.OpenAI, api_url: str, database_url: str
) -> None:
    mine = client.responses.create(model="chat", input="private")
    other = openai.OpenAI(base_url=f"{api_url}/v1", api_key=insert_key(database_url), max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="chat", input="x", previous_response_id=mine.id)
    assert client.responses.retrieve(mine.id).output_text == "echo: private"


@pytest.mark.parametrize("model", MODELS)
def test_json_schema_format_reaches_the_upstream(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
    }
    text: Any = {
        "format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": True}
    }
    response = client.responses.create(model=model, input="json please", text=text)
    assert response.text is not None
    assert response.text.format is not None
    assert response.text.format.type == "json_schema"
    _, sent = _last(fake_a)
    if _native(model):
        assert sent["text"]["format"]["name"] == "thing"
        assert sent["text"]["format"]["schema"] == schema
    else:
        assert sent["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "thing", "schema": schema, "strict": True},
        }


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_function_calling_round_trip(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str, stream: bool
) -> None:
    tools: Any = [WEATHER]
    first: Any
    if stream:
        with client.responses.stream(model=model, input="Paris", tools=tools) as events:
            first = events.get_final_response()
    else:
        first = client.responses.create(model=model, input="Paris", tools=tools)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"q": "Paris"}
    _, sent = _last(fake_a)
    if _native(model):
        assert sent["tools"][0]["name"] == "get_weather"
    else:
        assert sent["tools"][0]["function"]["name"] == "get_weather"
    second = client.responses.create(
        model=model,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=tools,
    )
    assert second.output_text.strip() == "echo: sunny"
    _, sent = _last(fake_a)
    text = _texts(sent)
    assert call.call_id in text
    assert "sunny" in text


def test_a_tool_the_key_may_not_use_is_refused(
    api_url: str, database_url: str, fake_a: FakeOpenAI
) -> None:
    from tests.support.keys import insert_key as insert

    key = insert(database_url, allowed_tools=["search_*"])
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key=key, max_retries=0)
    before = len(fake_a.requests)
    with pytest.raises(openai.PermissionDeniedError):
        client.responses.create(model="chat", input="x", tools=[WEATHER])  # type: ignore[list-item]
    assert len(fake_a.requests) == before


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "nonsense"}]}, "input[0].type"),
        ({"input": [{"type": "web_search_call", "id": "x"}]}, "input[0].type"),
        ({"input": [42]}, "input[0]"),
        ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, None),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "x", "temperature": "hot"}, "temperature"),
        ({"input": "x", "previous_response_id": "resp_doesnotexist"}, "previous_response_id"),
        ({"input": [{"type": "function_call", "name": "f"}]}, None),
        ({"input": "x", "tool_choice": {"type": "function"}}, "tool_choice.name"),
    ],
)
def test_bad_input_is_an_openai_shaped_4xx(
    client: openai.OpenAI, body: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model="chat", **body)
    error = caught.value
    assert 400 <= error.status_code < 500
    assert isinstance(error.body, dict)
    assert error.body["message"]
    if param is not None:
        assert error.body["param"] == param


def test_upstream_failure_mid_stream_is_response_failed(client: openai.OpenAI) -> None:
    kinds: list[str] = []
    with client.responses.stream(model="chat-reset", input="x y z w v") as stream:
        kinds = [event.type for event in stream]
    assert kinds[-1] == "response.failed"


@pytest.mark.parametrize("model", MODELS)
def test_input_tokens_are_counted_without_a_model_call(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    first = client.responses.create(model=model, input="one two three four")
    before = len(fake_a.requests)
    counted = client.responses.input_tokens.count(
        model=model, input="five six", previous_response_id=first.id, instructions="be brief"
    )
    assert counted.object == "response.input_tokens"
    assert counted.input_tokens > 0
    new = fake_a.requests[before:]
    if _native(model):  # the upstream counted it, with the conversation
        assert [r.path for r in new] == ["/v1/responses/input_tokens"]
        assert "one two three four" in _texts(new[0].body)
        assert "stream" not in new[0].body
    else:  # estimated here: no upstream call at all
        assert new == []
    with pytest.raises(openai.NotFoundError):
        client.responses.input_tokens.count(model=model, input="x", previous_response_id="resp_x")


def test_an_anthropic_deployment_is_translated(client: openai.OpenAI) -> None:
    response = client.responses.create(model="claude", input="hi claude", instructions="terse")
    assert response.status == "completed"
    assert "hi claude" in response.output_text
    with client.responses.stream(model="claude", input="stream claude") as stream:
        final = stream.get_final_response()
    assert "stream claude" in final.output_text


@pytest.mark.parametrize("model", MODELS)
def test_reasoning_reaches_the_upstream_in_its_form(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    client.responses.create(
        model=model, input="think", reasoning={"effort": "low", "summary": "auto"}, store=False
    )
    _, sent = _last(fake_a)
    if _native(model):
        assert sent["reasoning"] == {"effort": "low", "summary": "auto"}
    else:
        assert sent["reasoning_effort"] == "low"
    odd: Any = {"effort": "low", "summary": "mail jane@example.com"}  # free text: refused
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=model, input="x", reasoning=odd)
    assert caught.value.body["param"] == "reasoning.summary"  # type: ignore[index]


def test_tool_decisions_on_responses_are_audited(
    client: openai.OpenAI, api_url: str, database_url: str
) -> None:
    from tests.support.keys import insert_key as insert

    name = f"get_forecast_{secrets.token_hex(4)}"  # this test's own audit rows
    tools: Any = [{**WEATHER, "name": name}]
    call = client.responses.create(model="chat", input="Lisbon", tools=tools)
    assert [item.type for item in call.output] == ["function_call"]
    admin = insert(database_url, role="admin")
    headers = {"Authorization": f"Bearer {admin}"}
    deadline = time.monotonic() + 10
    while True:
        listed = httpx.get(f"{api_url}/admin/audit", params={"subject": name}, headers=headers)
        assert listed.status_code == 200, listed.text
        if listed.json()["data"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (event,) = listed.json()["data"]
    assert event["kind"] == "tool"
    assert event["stage"] == "response"
    assert event["decision"] == "allowed"
    assert event["model"] == "chat"
    assert len(event["arguments_sha256"]) == 64

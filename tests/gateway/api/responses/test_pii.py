"""PII in every place a ``/v1/responses`` request can carry text never reaches an upstream.

Both deployments are external, so the default policy masks: the upstream sees
``<EMAIL_ADDRESS_1>``-style placeholders and the client gets its values back in the answer
(the fake echoes the last user text, or a tool result, or calls the first tool with it).
Every case runs against a native Responses upstream (``chat``) and a chat one
(``chat-translate``), answered whole and streamed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.pii_wire import EMAIL, PII, assert_masked, assert_restored

MODELS = ["chat", "chat-translate"]
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}
ASK: dict[str, Any] = {"role": "user", "content": f"repeat {PII}"}


def _parts(kind: str) -> list[dict[str, str]]:
    return [{"type": kind, "text": "about"}, {"type": kind, "text": PII}]


def _call_items(output: Any) -> list[dict[str, Any]]:
    """A user turn, the model's call with PII in its arguments, and the call's ``output``."""
    return [
        {"role": "user", "content": "weather please"},
        {
            "type": "function_call",
            "call_id": "call_7",
            "name": "get_weather",
            "arguments": json.dumps({"q": f"weather for {PII}"}),
        },
        {"type": "function_call_output", "call_id": "call_7", "output": output},
    ]


# Each case: the request's fields with PII in one position (and, where that position is not
# what the fake echoes, PII in the last user message too, so the answer shows the restore).
CASES: dict[str, dict[str, Any]] = {
    "instructions": {"instructions": f"the caller is {PII}", "input": [ASK]},
    "input-string": {"input": f"repeat {PII}"},
    **{
        f"{role}-string": {"input": [{"role": role, "content": f"known: {PII}"}, ASK]}
        for role in ("system", "developer", "assistant")
    },
    **{
        f"{role}-input_text": {
            "input": [{"type": "message", "role": role, "content": _parts("input_text")}, ASK]
        }
        for role in ("system", "developer")
    },
    "user-input_text": {
        "input": [{"type": "message", "role": "user", "content": _parts("input_text")}]
    },
    "assistant-output_text": {
        "input": [
            {"role": "user", "content": "who am I"},
            {"type": "message", "role": "assistant", "content": _parts("output_text")},
            ASK,
        ]
    },
    "function_call-arguments": {"input": _call_items("sunny"), "tools": [WEATHER]},
    "function_call_output-string": {
        "input": _call_items(f"sunny at {PII}"),
        "tools": [WEATHER],
    },
    "function_call_output-input_text": {
        "input": _call_items(_parts("input_text")),
        "tools": [WEATHER],
    },
}
# Where the fake echoes something without PII, the answer has none to restore.
NO_ECHO = {"function_call-arguments"}


def _sent_since(fake: FakeOpenAI, before: int) -> list[str]:
    """The bodies the upstream received since ``before``, each as one JSON string."""
    bodies = [json.dumps(received.body) for received in fake.requests[before:]]
    assert bodies, "the upstream was not called"
    return bodies


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("model", MODELS)
def test_create_masks_every_input_position_and_restores_the_answer(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str, case: str
) -> None:
    before = len(fake_a.requests)
    response = client.responses.create(model=model, store=False, **CASES[case])
    assert_masked(_sent_since(fake_a, before))
    assert response.status == "completed"
    if case not in NO_ECHO:
        assert_restored(response.output_text)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("model", MODELS)
def test_stream_masks_every_input_position_and_restores_the_deltas(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str, case: str
) -> None:
    before = len(fake_a.requests)
    deltas: list[str] = []
    with client.responses.stream(model=model, store=False, **CASES[case]) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert_masked(_sent_since(fake_a, before))
    assert final.status == "completed"
    if case not in NO_ECHO:
        assert_restored("".join(deltas))
        assert_restored(final.output_text)


@pytest.mark.parametrize("model", MODELS)
def test_an_earlier_turn_is_masked_when_it_is_sent_again(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    first = client.responses.create(
        model=model, instructions=f"for {PII}", input=f"my contacts are {PII}"
    )
    assert_restored(first.output_text)
    before = len(fake_a.requests)
    second = client.responses.create(
        model=model, input="what are my contacts", previous_response_id=first.id
    )
    bodies = _sent_since(fake_a, before)
    assert_masked(bodies)  # the stored input and the stored (restored) answer, masked again
    assert "my contacts are <EMAIL_ADDRESS_" in bodies[-1]
    assert "echo: my contacts are <EMAIL_ADDRESS_" in bodies[-1]
    assert second.output_text == "echo: what are my contacts"
    third = client.responses.create(
        model=model, input=f"and {EMAIL}?", previous_response_id=second.id
    )
    assert_masked(_sent_since(fake_a, before + len(bodies)))
    assert third.output_text == f"echo: and {EMAIL}?"


Ask = Callable[[openai.OpenAI, str], Any]


def _created(client: openai.OpenAI, model: str) -> Any:
    return client.responses.create(model=model, input=f"weather for {PII}", tools=[WEATHER])


def _streamed(client: openai.OpenAI, model: str) -> Any:
    with client.responses.stream(model=model, input=f"weather for {PII}", tools=[WEATHER]) as s:
        return s.get_final_response()


@pytest.mark.parametrize("ask", [_created, _streamed], ids=["create", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_function_call_arguments_with_placeholders_come_back_restored(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str, ask: Ask
) -> None:
    before = len(fake_a.requests)
    response = ask(client, model)
    assert_masked(_sent_since(fake_a, before))
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1
    assert json.loads(calls[0].arguments) == {"q": f"weather for {PII}"}


@pytest.mark.parametrize("model", MODELS)
def test_responses_only_fields_are_masked_too(
    client: openai.OpenAI, fake_a: FakeOpenAI, model: str
) -> None:
    before = len(fake_a.requests)
    client.responses.create(
        model=model, input=f"repeat {PII}", store=False, prompt_cache_key=f"cache for {PII}"
    )
    assert_masked(_sent_since(fake_a, before))


def test_include_names_carry_no_free_text(client: openai.OpenAI) -> None:
    odd: Any = ["message.output_text.logprobs", f"mail {PII}"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="chat", input="x", include=odd)
    assert caught.value.body["param"] == "include[1]"  # type: ignore[index]

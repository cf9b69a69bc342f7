"""The PII field matrix through the running gateway: an email and a card number in every
string-bearing field of chat completions, completions and embeddings, sent with the official
``openai`` client (``extra_body`` for the odd fields) in front of a recording upstream.

A ``block`` key gets a 400 in OpenAI's error shape naming the entity types and nothing
reaches the upstream; a ``mask`` key's request arrives with neither value in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PII = f"{EMAIL} {CARD}"
ENV = {"MATRIX_KEY": "sk-matrix-" + "m" * 20}
HI: Any = [{"role": "user", "content": "hi"}]

Send = Callable[[openai.OpenAI], Any]


def _chat(**kwargs: Any) -> Send:
    return lambda client: client.chat.completions.create(model="chat", **{"messages": HI, **kwargs})


def _tool(**function: Any) -> Any:
    return {"type": "function", "function": {"name": "lookup", **function}}


def _parts(*parts: Any) -> Any:
    return [{"role": "user", "content": list(parts)}]


CALLED: Any = [
    {"role": "user", "content": "hi"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": PII, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": PII, "content": "done"},
]
SCHEMA: Any = {"type": "object", "properties": {"to": {"type": "string", "enum": [EMAIL, CARD]}}}

CHAT: dict[str, Send] = {
    "messages.content": _chat(messages=[{"role": "user", "content": PII}]),
    "messages.name": _chat(messages=[{"role": "user", "name": PII, "content": "hi"}]),
    "messages.content.text": _chat(messages=_parts({"type": "text", "text": PII})),
    "image_url.url": _chat(
        messages=_parts(
            {"type": "image_url", "image_url": {"url": f"https://img.example/a.png?n=1 {PII}"}}
        )
    ),
    "image_url.data-url": _chat(
        messages=_parts({"type": "image_url", "image_url": {"url": f"data:text/plain,{PII}"}})
    ),
    "file.filename": _chat(
        messages=_parts({"type": "file", "file": {"filename": PII, "file_data": "QUJD"}})
    ),
    "file.file_data": _chat(messages=_parts({"type": "file", "file": {"file_data": PII}})),
    "tool_call.id": _chat(messages=CALLED, tools=[_tool()]),
    "tool_call.arguments": _chat(
        messages=[
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": json.dumps({"q": PII})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ],
        tools=[_tool()],
    ),
    "tools.description": _chat(tools=[_tool(description=PII)], tool_choice="none"),
    "tools.parameters.enum": _chat(tools=[_tool(parameters=SCHEMA)], tool_choice="none"),
    "tools.parameters.key": _chat(
        tools=[_tool(parameters={"type": "object", "properties": {PII: {"type": "string"}}})],
        tool_choice="none",
    ),
    "response_format.schema": _chat(
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}}
    ),
    "user": _chat(user=PII),
    "metadata": _chat(metadata={"note": PII}),
    "stop": _chat(stop=[PII]),
    "logit_bias": _chat(logit_bias={PII: 1}),
    "prediction": _chat(prediction={"type": "content", "content": PII}),
    "unknown field": _chat(extra_body={"x_note": PII}),
    "unknown nested": _chat(extra_body={"x_note": {"deep": [1, PII]}}),
    "unknown name": _chat(extra_body={PII: 1}),
}

COMPLETIONS: dict[str, Send] = {
    "prompt": lambda c: c.completions.create(model="chat", prompt=PII),
    "prompt[]": lambda c: c.completions.create(model="chat", prompt=["a", PII]),
    "suffix": lambda c: c.completions.create(model="chat", prompt="a", suffix=PII),
    "stop": lambda c: c.completions.create(model="chat", prompt="a", stop=PII),
    "user": lambda c: c.completions.create(model="chat", prompt="a", user=PII),
    "logit_bias": lambda c: c.completions.create(model="chat", prompt="a", logit_bias={PII: 1}),
    "unknown field": lambda c: c.completions.create(
        model="chat", prompt="a", extra_body={"x_note": PII}
    ),
}

EMBEDDINGS: dict[str, Send] = {
    "input": lambda c: c.embeddings.create(model="embed", input=PII),
    "input[]": lambda c: c.embeddings.create(model="embed", input=["a", PII]),
    "user": lambda c: c.embeddings.create(model="embed", input="a", user=PII),
    "unknown field": lambda c: c.embeddings.create(
        model="embed", input="a", extra_body={"x_note": PII}
    ),
}

CASES = [
    pytest.param(send, id=f"{family}:{name}")
    for family, table in (("chat", CHAT), ("completions", COMPLETIONS), ("embeddings", EMBEDDINGS))
    for name, send in table.items()
]


def _key(database_url: str, pii_policy: str) -> str:
    return insert_key(database_url, name="matrix", pii_policy=pii_policy)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    settings: Settings, database_url: str, redis_service: RedisForTests, upstream: FakeOpenAI
) -> Iterator[str]:
    def deployment(name: str, model: str) -> dict[str, Any]:
        return {
            "name": name,
            "provider": "openai",
            "model": model,
            "base_url": upstream.base_url,
            "api_key_env": "MATRIX_KEY",
            "timeout_s": 5,
            "trust": "external",
        }

    models = {
        "chat": {"deployments": [deployment("matrix-chat", "gpt-test")]},
        "embed": {"type": "embedding", "deployments": [deployment("matrix-emb", "emb-test")]},
    }
    providers = ProvidersSettings.model_validate({"models": models})
    app = create_app(
        settings.model_copy(update={"providers": providers}),
        database_url=database_url,
        redis_url=redis_service.url,
        env=ENV,
    )
    with ServerThread(app) as server:
        yield server.base_url


def _client(gateway: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=key, max_retries=0, timeout=20)


@pytest.fixture(scope="module")
def blocking(gateway: str, database_url: str) -> openai.OpenAI:
    return _client(gateway, _key(database_url, "block"))


@pytest.fixture(scope="module")
def masking(gateway: str, database_url: str) -> openai.OpenAI:
    return _client(gateway, _key(database_url, "mask"))


@pytest.mark.parametrize("send", CASES)
def test_a_blocking_key_is_refused_and_nothing_is_sent(
    send: Send, blocking: openai.OpenAI, upstream: FakeOpenAI
) -> None:
    upstream.requests.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        send(blocking)
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "pii_blocked"
    assert "EMAIL_ADDRESS" in error["message"]
    assert "CREDIT_CARD" in error["message"]
    assert EMAIL not in json.dumps(error)
    assert upstream.requests == []


@pytest.mark.parametrize("send", CASES)
def test_a_masking_key_sends_no_raw_value(
    send: Send, masking: openai.OpenAI, upstream: FakeOpenAI
) -> None:
    upstream.requests.clear()
    send(masking)
    assert len(upstream.requests) == 1
    wire = json.dumps(upstream.requests[0].body, ensure_ascii=False)
    assert EMAIL not in wire
    assert CARD not in wire
    assert "<EMAIL_ADDRESS_" in wire


def test_values_the_answer_carries_back_are_restored(
    masking: openai.OpenAI, upstream: FakeOpenAI
) -> None:
    """The fake calls the first offered tool with the user's text as arguments."""
    name = f"lookup_{EMAIL}"
    answer = masking.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": PII}],
        tools=[{"type": "function", "function": {"name": name}}],
    )
    call = answer.choices[0].message.tool_calls
    assert call is not None
    assert EMAIL not in json.dumps(upstream.requests[-1].body)
    assert call[0].function.name == name  # type: ignore[union-attr]
    assert json.loads(call[0].function.arguments) == {"q": PII}  # type: ignore[union-attr]

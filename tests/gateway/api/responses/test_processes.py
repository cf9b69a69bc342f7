"""``previous_response_id`` across two ``ragway gateway`` processes on one Postgres and Redis.

A conversation is kept in Postgres, not in a process: a response created through gateway A
can be continued through gateway B, whose upstream request then holds A's turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key
from tests.support.processes import gateway_pair

UPSTREAM_KEY_ENV = "RESPONSES_UPSTREAM_KEY"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _models(upstream: FakeOpenAI) -> str:
    deployment = {
        "provider": "openai",
        "model": "gpt-test",
        "base_url": upstream.base_url,
        "api_key_env": UPSTREAM_KEY_ENV,
    }
    return json.dumps(
        {
            "chat": {"deployments": [{"name": "chat-a", **deployment}]},
            "chat-translate": {
                "deployments": [
                    {"name": "chat-translate-a", "responses_api": "translate", **deployment}
                ]
            },
        }
    )


@pytest.fixture(scope="module")
def gateways(
    stack_env: dict[str, str], upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two gateway processes; their base URLs."""
    logs = tmp_path_factory.mktemp("responses-processes")
    env = {
        **stack_env,
        UPSTREAM_KEY_ENV: "sk-upstream-responses-" + "r" * 20,
        "RAGWAY_PROVIDERS__MODELS": _models(upstream),
    }
    with gateway_pair(env, logs) as urls:
        yield urls


@pytest.mark.parametrize("model", ["chat", "chat-translate"])
def test_a_response_made_on_one_process_is_continued_on_the_other(
    gateways: tuple[str, str], upstream: FakeOpenAI, database_url: str, model: str
) -> None:
    key = insert_key(database_url)
    a, b = (
        openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20)
        for url in gateways
    )
    first = a.responses.create(model=model, input="my name is Ada")
    assert first.output_text == "echo: my name is Ada"
    before = len(upstream.requests)
    second = b.responses.create(model=model, input="what is my name", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.output_text == "echo: what is my name"
    (received,) = upstream.requests[before:]
    sent = json.dumps(received.body)
    assert sent.index("my name is Ada") < sent.index("echo: my name is Ada")
    assert sent.index("echo: my name is Ada") < sent.index("what is my name")
    # and back: A continues what B stored, and both read the same record
    third = a.responses.create(model=model, input="again", previous_response_id=second.id)
    assert "echo: what is my name" in json.dumps(upstream.requests[-1].body)
    assert b.responses.retrieve(third.id).output_text == "echo: again"
    items = a.responses.input_items.list(second.id)
    assert [getattr(item, "role", None) for item in items.data] == ["user"]

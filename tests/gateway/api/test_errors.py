"""Every failure reaches the SDK as the right exception class, in OpenAI's error shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from tests.support.fake_openai import FakeOpenAI

HELLO: Any = [{"role": "user", "content": "hello"}]


def test_missing_and_invalid_keys_are_401(api_url: str) -> None:
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key="sk-rgw-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="chat", messages=HELLO)
    assert caught.value.code == "invalid_api_key"
    missing = httpx.post(
        f"{api_url}/v1/chat/completions", json={"model": "chat", "messages": HELLO}
    )
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("missing API key")
    assert missing.headers["x-request-id"].startswith("req_")


def test_unknown_model_is_404_and_a_forbidden_model_403(
    client: openai.OpenAI, api_url: str, limited_key: str
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert caught.value.code == "model_not_found"
    assert "no-such-model" in caught.value.message
    limited = openai.OpenAI(base_url=f"{api_url}/v1", api_key=limited_key, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as denied:
        limited.chat.completions.create(model="chat-500", messages=HELLO)
    assert "chat-500" in denied.value.message
    assert limited.chat.completions.create(model="chat", messages=HELLO).choices


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"model": "chat", "messages": "hi"}, "messages", "expected an array"),
        ({"model": "chat"}, "messages", "Missing required parameter"),
        ({"messages": HELLO}, "model", "Missing required parameter: 'model'"),
        ({"model": 5, "messages": HELLO}, "model", "Invalid type for 'model'"),
        ({"model": "chat", "messages": [{"content": "x"}]}, "messages[0].role", "Missing"),
        ({"model": "chat", "messages": HELLO, "n": 0}, "n", ">= 1"),
        ({"model": "chat", "messages": HELLO, "temperature": "hot"}, "temperature", "a number"),
        (
            {"model": "chat", "messages": HELLO, "tools": [{"type": "function", "function": {}}]},
            "tools[0].function.name",
            "Missing required parameter",
        ),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    client: openai.OpenAI, body: dict[str, object], param: str, fragment: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/chat/completions", cast_to=object, body=body)
    assert caught.value.param == param
    assert fragment in caught.value.message


def test_malformed_json_wrong_method_and_oversized_bodies(api_url: str, api_key: str) -> None:
    auth = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    url = f"{api_url}/v1/chat/completions"
    broken = httpx.post(url, content=b'{"model": "chat", "messages": [', headers=auth)
    assert broken.status_code == 400
    error = broken.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "invalid_json"
    assert "not valid JSON" in error["message"]
    array = httpx.post(url, content=b"[1, 2]", headers=auth)
    assert (
        array.json()["error"]["message"] == "the request body must be a JSON object, not an array"
    )
    wrong_method = httpx.get(url, headers=auth)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    client = openai.OpenAI(base_url=f"{api_url}/v1", api_key=api_key, max_retries=0)
    huge: Any = [{"role": "user", "content": "x" * (70 * 1024)}]
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="chat", messages=huge)
    assert type(caught.value) is openai.APIStatusError
    assert caught.value.status_code == 413
    assert "gateway.max_body_bytes" in caught.value.message


def test_upstream_500s_are_retried_then_502(client: openai.OpenAI, fake_a: FakeOpenAI) -> None:
    before = fake_a.count()
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="chat-500", messages=HELLO)
    assert caught.value.status_code == 502
    assert "3 attempts" in caught.value.message
    assert fake_a.count() - before == 3


def test_upstream_429_is_a_rate_limit_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="chat-429", messages=HELLO)
    assert caught.value.status_code == 429


def test_upstream_400_goes_back_as_it_is(client: openai.OpenAI, fake_a: FakeOpenAI) -> None:
    before = fake_a.count()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="chat-400", messages=HELLO)
    assert caught.value.body == {
        "message": "the fake upstream rejects this",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": None,
    }
    assert caught.value.param == "temperature"
    assert fake_a.count() - before == 1  # a client error is not retried


def test_invalid_json_from_upstream_is_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="chat-invalid", messages=HELLO)
    assert caught.value.status_code == 502
    assert "invalid JSON" in caught.value.message


def test_slow_first_byte_times_out_as_504(client: openai.OpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="chat-slow", messages=HELLO)
    assert caught.value.status_code == 504
    assert time.monotonic() - started < 2.9  # 3 attempts x 0.5 s, not the fake's 3 s


def test_fallback_to_the_next_deployment(
    client: openai.OpenAI, fake_a: FakeOpenAI, fake_b: FakeOpenAI
) -> None:
    a_before, b_before = fake_a.count(), fake_b.count()
    completion = client.chat.completions.create(model="chat-fallback", messages=HELLO)
    assert completion.choices[0].message.content == "echo: hello"
    assert fake_a.requests[-1].body["model"] == "fault-503"
    assert fake_a.count() - a_before == 1
    assert fake_b.count() - b_before == 1


def test_a_stream_reset_midway_ends_with_an_error_event_not_a_retry(
    client: openai.OpenAI, fake_a: FakeOpenAI
) -> None:
    before = fake_a.count()
    stream = client.chat.completions.create(
        model="chat-reset",
        messages=[{"role": "user", "content": "one two three four"}],
        stream=True,
    )
    received: list[object] = []
    with pytest.raises(openai.APIError) as caught:
        received.extend(stream)
    assert type(caught.value) is openai.APIError
    assert "broke off" in caught.value.message
    assert len(received) == 2  # what was sent stays sent
    assert fake_a.count() - before == 1  # never retried once bytes went out


async def test_a_client_that_disconnects_cancels_the_upstream(
    aclient: openai.AsyncOpenAI, fake_a: FakeOpenAI
) -> None:
    before = fake_a.disconnects
    stream = await aclient.chat.completions.create(
        model="chat-hang", messages=[{"role": "user", "content": "a b c"}], stream=True
    )
    async for _ in stream:
        break  # the fake then hangs; we hang up
    await stream.close()
    deadline = time.monotonic() + 5
    while fake_a.disconnects == before and time.monotonic() < deadline:
        await _sleep(0.05)
    assert fake_a.disconnects == before + 1


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)

"""``/v1/completions``, ``/v1/embeddings``, ``/v1/models`` and the OpenAPI document."""

from __future__ import annotations

import base64
import struct

import httpx
import openai
import pytest

from tests.support.fake_openai import FakeOpenAI


def test_completions_plain_and_streamed(client: openai.OpenAI, fake_a: FakeOpenAI) -> None:
    completion = client.completions.create(model="chat", prompt="say hi", max_tokens=5)
    assert completion.choices[0].text == " after say hi"
    assert fake_a.requests[-1].path == "/v1/completions"
    chunks = list(client.completions.create(model="chat", prompt="x", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == " one two three"


def test_completions_need_a_provider_that_has_them(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model="claude", prompt="x")
    assert caught.value.code == "model_not_supported"


def test_embeddings_float_base64_and_dimensions(client: openai.OpenAI, fake_a: FakeOpenAI) -> None:
    floats = client.embeddings.create(
        model="embed", input=["one", "two three"], encoding_format="float", dimensions=4
    )
    assert [len(item.embedding) for item in floats.data] == [4, 4]
    assert floats.usage.prompt_tokens == 3
    assert fake_a.requests[-1].body["dimensions"] == 4
    # the SDK asks for base64 by default and decodes it itself
    decoded = client.embeddings.create(model="embed", input="one")
    assert fake_a.requests[-1].body["encoding_format"] == "base64"
    assert len(decoded.data[0].embedding) == 8
    raw = client.embeddings.with_raw_response.create(
        model="embed", input="one", encoding_format="base64"
    ).http_response.json()
    vector = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert len(vector) == 8


def test_embeddings_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as wrong_kind:
        client.embeddings.create(model="chat", input="x")
    assert wrong_kind.value.code == "model_not_supported"
    with pytest.raises(openai.BadRequestError) as bad_format:
        client.embeddings.create(model="embed", input="x", encoding_format="hex")  # type: ignore[arg-type]
    assert bad_format.value.param == "encoding_format"
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model="embed", input=[])
    assert empty.value.param == "input"


def test_models_list_only_what_the_key_may_use(
    client: openai.OpenAI, api_url: str, limited_key: str
) -> None:
    everything = {model.id for model in client.models.list()}
    assert {"chat", "embed", "claude", "chat-fallback"} <= everything
    limited = openai.OpenAI(base_url=f"{api_url}/v1", api_key=limited_key, max_retries=0)
    assert {model.id for model in limited.models.list()} == {"chat", "embed"}
    assert limited.models.retrieve("chat").owned_by == "ragway"
    with pytest.raises(openai.NotFoundError):
        limited.models.retrieve("claude")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")
    bad = openai.OpenAI(base_url=f"{api_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_openapi_documents_every_route(api_url: str) -> None:
    schema = httpx.get(f"{api_url}/openapi/openapi.json").json()
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert "model" in schema["components"]["schemas"][name]["properties"]
    assert "/v1/models" in schema["paths"]
    assert "/v1/models/{model_id}" in schema["paths"]

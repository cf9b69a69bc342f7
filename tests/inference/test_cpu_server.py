"""The CPU server answers OpenAI's chat, completions, embeddings and models endpoints.

Driven with the official ``openai`` client; expectations come from transformers directly
(the reference tokenizer, ``generate``) and from the local embedder.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Any

import openai
import pytest

from inference.embedders import LocalEmbedder
from tests.inference.conftest import CHAT_MODEL, CONTEXT, EMBED_MODEL

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hello there, how are you?"},
]


@pytest.fixture(scope="module")
def client(cpu_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=cpu_server, api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def reference(tiny_model_dir: Path) -> Any:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    return tokenizer, model


def chat_prompt_ids(reference: Any, messages: list[Any]) -> list[int]:
    tokenizer, _ = reference
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids


def test_models_are_listed(client: openai.OpenAI) -> None:
    models = {m.id: m for m in client.models.list()}
    assert set(models) == {CHAT_MODEL, EMBED_MODEL}
    assert models[CHAT_MODEL].model_extra == {"max_model_len": CONTEXT}
    assert client.models.retrieve(CHAT_MODEL).id == CHAT_MODEL


def test_greedy_chat_matches_transformers_generate(client: openai.OpenAI, reference: Any) -> None:
    import torch

    tokenizer, model = reference
    prompt = chat_prompt_ids(reference, MESSAGES)
    with torch.inference_mode():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)
    new = out[0, len(prompt) :].tolist()
    expected_text = tokenizer.decode(new, skip_special_tokens=True)
    response = client.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, max_tokens=12, temperature=0
    )
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == expected_text
    assert choice.finish_reason == ("stop" if tokenizer.eos_token_id in new else "length")
    assert response.usage is not None
    assert response.usage.prompt_tokens == len(prompt)
    assert response.usage.completion_tokens == len(new)
    assert response.usage.total_tokens == len(prompt) + len(new)
    assert response.model == CHAT_MODEL
    assert response.object == "chat.completion"


def test_max_tokens_ends_with_length(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, max_tokens=7, extra_body={"ignore_eos": True}
    )
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None
    assert response.usage.completion_tokens == 7


def test_end_of_sequence_ends_with_stop(client: openai.OpenAI, reference: Any) -> None:
    eos = reference[0].eos_token_id
    response = client.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, max_tokens=50, logit_bias={str(eos): 100}
    )
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.content == ""
    assert response.usage is not None
    assert response.usage.completion_tokens == 1


def test_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str | None:
        response = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=MESSAGES,
            max_tokens=24,
            temperature=1.0,
            top_p=0.9,
            seed=seed,
            extra_body={"ignore_eos": True},
        )
        return response.choices[0].message.content

    first = sample(7)
    assert first == sample(7)
    assert first != sample(8)


def test_stop_string_cuts_the_text(client: openai.OpenAI) -> None:
    def run(stop: list[str] | None) -> Any:
        return client.chat.completions.create(
            model=CHAT_MODEL,
            messages=MESSAGES,
            max_tokens=40,
            temperature=1.0,
            seed=3,
            stop=stop,
            extra_body={"ignore_eos": True},
        ).choices[0]

    full = run(None).message.content
    assert full is not None
    # a two-character stop string from the middle of the text, first seen at `at`
    start = next(i for i in range(len(full) // 3, len(full) - 2) if "\ufffd" not in full[i : i + 2])
    stop = full[start : start + 2]
    cut = run([stop, "never-in-this-text"])
    assert cut.finish_reason == "stop"
    assert cut.message.content == full[: full.index(stop)]


def test_streamed_chat_equals_the_whole_answer(client: openai.OpenAI) -> None:
    kwargs: dict[str, Any] = {
        "model": CHAT_MODEL,
        "messages": MESSAGES,
        "max_tokens": 30,
        "temperature": 0.8,
        "seed": 11,
        "stop": ["zz"],
    }
    whole = client.chat.completions.create(**kwargs)
    chunks = list(
        client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1
    assert finishing[0].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].choices == []
    assert chunks[-1].usage == whole.usage
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_completions_whole_and_streamed(client: openai.OpenAI, reference: Any) -> None:
    prompt = "The quick brown fox"
    whole = client.completions.create(
        model=CHAT_MODEL,
        prompt=prompt,
        max_tokens=9,
        temperature=0,
        extra_body={"ignore_eos": True},
    )
    assert whole.object == "text_completion"
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == len(reference[0](prompt)["input_ids"])
    assert whole.usage.completion_tokens == 9
    streamed = client.completions.create(
        model=CHAT_MODEL,
        prompt=prompt,
        max_tokens=9,
        temperature=0,
        stream=True,
        extra_body={"ignore_eos": True},
    )
    assert "".join(c.choices[0].text for c in streamed) == whole.choices[0].text


def test_completions_with_several_prompts(client: openai.OpenAI) -> None:
    response = client.completions.create(
        model=CHAT_MODEL, prompt=["one", "two words"], max_tokens=3, extra_body={"ignore_eos": True}
    )
    assert [c.index for c in response.choices] == [0, 1]
    assert response.usage is not None
    assert response.usage.completion_tokens == 6


def test_embeddings_match_the_local_embedder(client: openai.OpenAI) -> None:
    texts = ["pgvector stores embeddings", "a cat sat on the mat"]
    response = client.embeddings.create(model=EMBED_MODEL, input=texts)
    expected = LocalEmbedder().embed(texts)
    got = [d.embedding for d in response.data]
    for row, ref in zip(got, expected, strict=True):
        assert max(abs(a - b) for a, b in zip(row, ref, strict=True)) < 1e-5
    assert response.usage.prompt_tokens == sum(LocalEmbedder().count_tokens(texts))
    raw = client.embeddings.with_raw_response.create(
        model=EMBED_MODEL, input="pgvector stores embeddings", encoding_format="base64"
    ).http_response.json()
    packed = base64.b64decode(raw["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(packed) // 4}f", packed)
    assert max(abs(a - b) for a, b in zip(decoded, expected[0], strict=True)) < 1e-6


@pytest.mark.parametrize(
    ("call", "error", "param", "fragment"),
    [
        ({"model": "nope"}, openai.NotFoundError, "model", "The model `nope` does not exist."),
        ({"max_tokens": CONTEXT}, openai.BadRequestError, "messages", "maximum context length"),
        ({"temperature": 2.5}, openai.BadRequestError, "temperature", "between 0 and 2"),
        ({"n": 2}, openai.BadRequestError, "n", "n is not supported"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
            openai.BadRequestError,
            "tools",
            "tools is not supported",
        ),
        ({"extra_body": {"bogus": 1}}, openai.BadRequestError, "bogus", "unknown field `bogus`"),
        ({"model": EMBED_MODEL}, openai.BadRequestError, None, "does not generate"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            openai.BadRequestError,
            "messages[0].content[0]",
            "'image_url' is not supported",
        ),
    ],
)
def test_bad_chat_requests_get_openai_errors(
    client: openai.OpenAI,
    call: dict[str, Any],
    error: type[openai.APIStatusError],
    param: str | None,
    fragment: str,
) -> None:
    kwargs: dict[str, Any] = {"model": CHAT_MODEL, "messages": MESSAGES, **call}
    with pytest.raises(error) as info:
        client.chat.completions.create(**kwargs)
    body = info.value.body
    assert isinstance(body, dict)
    assert fragment in body["message"]
    assert body["param"] == param
    assert body["type"] == "invalid_request_error"


def test_context_error_code_and_embedding_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, max_tokens=CONTEXT)
    assert info.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError, match="has no embeddings"):
        client.embeddings.create(model=CHAT_MODEL, input="x")
    with pytest.raises(openai.BadRequestError, match="cannot shorten"):
        client.embeddings.create(model=EMBED_MODEL, input="x", dimensions=128)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nope", input="x")


def test_malformed_json_and_unknown_route(cpu_server: str) -> None:
    import httpx

    response = httpx.post(f"{cpu_server}/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{cpu_server}/nothing-here").json()["error"]["message"]

"""Streams: placeholders split over chunks are restored; nothing else is held back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.policy.pii import ChunkRestorer, PlaceholderVault, TextRestorer

EMAIL = "jane.doe@example.com"


def vault() -> PlaceholderVault:
    v = PlaceholderVault()
    assert v.mask("EMAIL_ADDRESS", EMAIL) == "<EMAIL_ADDRESS_1>"
    v.mask("PHONE_NUMBER", "212-555-0142")
    return v


ANSWER = "Write to <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1>; a < b and <b>bold</b>."
RESTORED = f"Write to {EMAIL} or call 212-555-0142; a < b and <b>bold</b>."


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 64])
def test_every_split_restores_the_originals(size: int) -> None:
    restorer = TextRestorer(vault())
    pieces = [ANSWER[i : i + size] for i in range(0, len(ANSWER), size)]
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == RESTORED


def test_only_a_possible_placeholder_prefix_is_held_back() -> None:
    restorer = TextRestorer(vault())
    assert restorer.feed("a < b then <EMAIL_") == "a < b then "
    assert restorer.holding
    assert restorer.feed("ADDRESS_1> done <b") == f"{EMAIL} done <b"  # "<b" can't become ours
    assert restorer.feed("<EMAIL_ADDRESS_12") == "<EMAIL_ADDRESS_12"  # longer than any of ours
    assert restorer.flush() == ""


def _chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(delta)
    if content is not None:
        d["content"] = content
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }


def test_chunks_release_held_text_with_the_finish_reason() -> None:
    restorer = ChunkRestorer(vault(), "message")
    chunks = [_chunk("Hi <EMAIL_ADD"), _chunk("RESS_1> and <PHONE"), _chunk(None, "stop")]
    for chunk in chunks:
        restorer(chunk)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == f"Hi {EMAIL} and <PHONE"
    assert chunks[1]["choices"][0]["delta"]["content"] == f"{EMAIL} and "


def test_tool_call_arguments_are_restored_json_escaped() -> None:
    v = PlaceholderVault()
    v.mask("PERSON", 'Ann "the" Lee')
    restorer = ChunkRestorer(v, "message")
    fragments = ['{"who": "<PER', 'SON_1>"}']
    chunks = [
        _chunk(
            tool_calls=[
                {"index": 0, "id": "c", "function": {"name": "f", "arguments": fragments[0]}}
            ]
        ),
        _chunk(tool_calls=[{"index": 0, "function": {"arguments": fragments[1]}}]),
        _chunk(None, "tool_calls"),
    ]
    for chunk in chunks:
        restorer(chunk)
    arguments = "".join(
        call["function"]["arguments"]
        for c in chunks
        for call in c["choices"][0]["delta"].get("tool_calls") or ()
    )
    assert json.loads(arguments) == {"who": 'Ann "the" Lee'}


def test_completions_chunks() -> None:
    restorer = ChunkRestorer(vault(), "text")
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "text": "to <EMAIL", "finish_reason": None}]},
        {"choices": [{"index": 0, "text": "_ADDRESS_1>", "finish_reason": "stop"}]},
    ]
    for chunk in chunks:
        restorer(chunk)
    assert "".join(c["choices"][0]["text"] for c in chunks) == f"to {EMAIL}"

"""Extended thinking through the adapter: ``thinking`` / ``reasoning_effort`` out, thinking blocks
and deltas back as the chat reasoning fields, earlier reasoning sent back with its signature."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.platform.errors import InvalidRequestError
from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider
from tests.gateway.providers.anthropic.helpers import collect, user
from tests.support.fake_anthropic import FakeAnthropic, RedactedThinking, Reply, Text, ToolUse
from tests.support.fake_anthropic import Thinking as ThinkingBlock

THOUGHT = ThinkingBlock("Paris is in France; look it up.", "sig-paris-1")
LOOKUP = ToolUse("toolu_1", "get_weather", {"city": "Paris"})
ENABLED = {"type": "enabled", "budget_tokens": 2048}


async def test_the_thinking_object_is_sent_as_given(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    for thinking in (ENABLED, {"type": "disabled"}, {"type": "adaptive"}):
        body = {"model": "m", "messages": [user("hi")], "max_tokens": 4096, "thinking": thinking}
        await provider.chat(target, body)
        assert fake.last.json["thinking"] == thinking


@pytest.mark.parametrize(
    ("effort", "max_tokens", "thinking"),
    [
        ("low", 32000, {"type": "enabled", "budget_tokens": 2048}),
        ("medium", 32000, {"type": "enabled", "budget_tokens": 8192}),
        ("high", 32000, {"type": "enabled", "budget_tokens": 24576}),
        ("high", 4096, {"type": "enabled", "budget_tokens": 4095}),  # clamped under max_tokens
        ("minimal", 4096, None),
        ("none", 4096, None),
    ],
)
async def test_reasoning_effort_becomes_a_thinking_budget(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    effort: str,
    max_tokens: int,
    thinking: dict[str, Any] | None,
) -> None:
    body = {"model": "m", "messages": [user("hi")], "max_tokens": max_tokens}
    await provider.chat(target, body | {"reasoning_effort": effort})
    assert fake.last.json.get("thinking") == thinking


@pytest.mark.parametrize(
    ("field", "value", "max_tokens"),
    [
        ("thinking", {"type": "enabled", "budget_tokens": 1000}, 4096),
        ("thinking", {"type": "enabled", "budget_tokens": 4096}, 4096),
        ("thinking", {"type": "enabled", "budget_tokens": "2048"}, 4096),
        ("thinking", {"type": "enabled"}, 4096),
        ("thinking", {"type": "deep"}, 4096),
        ("thinking", "enabled", 4096),
        ("reasoning_effort", "extreme", 4096),
        ("reasoning_effort", "low", 1000),  # no budget of 1024 fits under max_tokens
    ],
)
async def test_bad_thinking_is_a_400_naming_the_field(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    field: str,
    value: Any,
    max_tokens: int,
) -> None:
    body = {"model": "m", "messages": [user("hi")], "max_tokens": max_tokens, field: value}
    with pytest.raises(InvalidRequestError) as caught:
        await provider.chat(target, body)
    assert caught.value.param == field
    assert fake.requests == []


async def test_thinking_blocks_become_the_reasoning_fields(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(
        Reply(
            content=(THOUGHT, RedactedThinking("opaque-1"), LOOKUP),
            stop_reason="tool_use",
        )
    )
    completion = await provider.chat(target, {"model": "m", "messages": [user("Paris?")]})

    message = completion["choices"][0]["message"]
    assert message["reasoning_content"] == THOUGHT.thinking
    assert message["reasoning_signature"] == "sig-paris-1"
    assert message["redacted_reasoning"] == ["opaque-1"]
    assert message["tool_calls"][0]["id"] == "toolu_1"


async def test_an_answer_without_thinking_has_no_reasoning_fields(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("plain"),)))
    completion = await provider.chat(target, {"model": "m", "messages": [user("hi")]})
    message = completion["choices"][0]["message"]
    assert not {"reasoning_content", "reasoning_signature", "redacted_reasoning"} & set(message)


async def test_streamed_thinking_becomes_reasoning_deltas(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(
        Reply(content=(THOUGHT, RedactedThinking("opaque-1"), Text("Sunny.")), delta_chars=10)
    )
    body = {"model": "m", "messages": [user("Paris?")], "stream": True}
    chunks = await collect(provider, target, body)

    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    thought = "".join(d.get("reasoning_content", "") for d in deltas)
    assert thought == THOUGHT.thinking
    signatures = [d["reasoning_signature"] for d in deltas if "reasoning_signature" in d]
    assert signatures == ["sig-paris-1"]
    assert [d["redacted_reasoning"] for d in deltas if "redacted_reasoning" in d] == [["opaque-1"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Sunny."


async def test_earlier_reasoning_goes_back_as_signed_thinking_blocks(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(THOUGHT, LOOKUP), stop_reason="tool_use"), Reply())
    first = await provider.chat(target, {"model": "m", "messages": [user("Paris?")]})
    assistant = first["choices"][0]["message"]
    turns = [
        user("Paris?"),
        assistant | {"redacted_reasoning": ["opaque-1"]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
    ]

    await provider.chat(target, {"model": "m", "messages": turns})

    sent = fake.last.json["messages"][1]["content"]
    assert sent[0] == {
        "type": "thinking",
        "thinking": THOUGHT.thinking,
        "signature": "sig-paris-1",
    }
    assert sent[1] == {"type": "redacted_thinking", "data": "opaque-1"}
    assert sent[2]["type"] == "tool_use"


async def test_unsigned_reasoning_is_not_sent_and_bad_fields_are_a_400(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    turns: list[dict[str, Any]] = [
        user("hi"),
        {"role": "assistant", "content": "hello", "reasoning_content": "from elsewhere"},
        user("again"),
    ]
    await provider.chat(target, {"model": "m", "messages": turns})
    assert fake.last.json["messages"][1]["content"] == [{"type": "text", "text": "hello"}]

    for field, value in (
        ("reasoning_signature", 7),
        ("reasoning_content", ["x"]),
        ("redacted_reasoning", "x"),
    ):
        turns[1] = {"role": "assistant", "content": "hello", field: value}
        with pytest.raises(InvalidRequestError) as caught:
            await provider.chat(target, {"model": "m", "messages": turns})
        assert caught.value.param == f"messages[1].{field}"

"""Anthropic message -> OpenAI chat.completion, read back by the openai SDK's own models."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletion

from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider
from tests.gateway.providers.anthropic.conftest import CREATED
from tests.gateway.providers.anthropic.helpers import user
from tests.support.fake_anthropic import FakeAnthropic, Reply, Text, ToolUse

BODY = {"model": "alias", "messages": [user("hi")]}


async def test_text_answer(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("Hello"), Text(" world")), input_tokens=12, output_tokens=3))

    result = await provider.chat(target, dict(BODY))

    completion = ChatCompletion.model_validate(result)
    assert completion.id == "chatcmpl-msg_fake01"
    assert completion.object == "chat.completion"
    assert completion.created == CREATED
    assert completion.model == "claude-fake-1"
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello world"
    assert choice.message.tool_calls is None
    assert completion.usage is not None
    assert completion.usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "total_tokens": 15,
    }


async def test_tool_use_blocks_become_tool_calls(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(
        Reply(
            content=(
                Text("Let me check."),
                ToolUse("toolu_a", "get_weather", {"city": "Paris", "units": ["c"]}),
                ToolUse("toolu_b", "now", {}),
            ),
            stop_reason="tool_use",
        )
    )

    completion = ChatCompletion.model_validate(await provider.chat(target, dict(BODY)))

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    calls = choice.message.tool_calls or []
    assert [(c.id, c.type, c.function.name) for c in calls] == [  # type: ignore[union-attr]
        ("toolu_a", "function", "get_weather"),
        ("toolu_b", "function", "now"),
    ]
    arguments = [json.loads(c.function.arguments) for c in calls]  # type: ignore[union-attr]
    assert arguments == [{"city": "Paris", "units": ["c"]}, {}]


async def test_tool_only_answer_has_null_content(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(ToolUse("toolu_a", "now", {}),), stop_reason="tool_use"))

    result = await provider.chat(target, dict(BODY))

    assert result["choices"][0]["message"]["content"] is None
    assert len(result["choices"][0]["message"]["tool_calls"]) == 1


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
async def test_stop_reasons(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    stop_reason: str,
    finish_reason: str,
) -> None:
    fake.enqueue(Reply(stop_reason=stop_reason))

    result = await provider.chat(target, dict(BODY))

    assert result["choices"][0]["finish_reason"] == finish_reason


async def test_prompt_cache_tokens_count_as_prompt_tokens_with_details(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(
        Reply(
            input_tokens=10,
            output_tokens=4,
            cache_read_input_tokens=100,
            cache_creation_input_tokens=20,
        )
    )

    completion = ChatCompletion.model_validate(await provider.chat(target, dict(BODY)))

    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 130
    assert completion.usage.total_tokens == 134
    details = completion.usage.prompt_tokens_details
    assert details is not None
    assert details.cached_tokens == 100
    assert details.model_dump()["cache_creation_tokens"] == 20

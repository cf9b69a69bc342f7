"""Extended thinking through ``/v1/messages`` on an Anthropic deployment, end to end.

The ``anthropic`` SDK calls the gateway, which translates to chat for the policy steps and back
through the Anthropic adapter to the fake Anthropic API. Thinking must come back with the
upstream's signature, and go back unchanged in a tool loop (the fake refuses a thinking block
whose signature it did not give for that text, as the real API does).
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.support.fake_anthropic import FakeAnthropic, RedactedThinking, Reply, Text, ToolUse
from tests.support.fake_anthropic import Thinking as ThinkingReply

WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
}
THINKING: Any = {"type": "enabled", "budget_tokens": 2048}
THOUGHT = ThinkingReply("The user wants Oslo's weather; call the tool.", "sig-oslo-42")


@pytest.fixture
def claude(api_url: str, api_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api_url, api_key=api_key, max_retries=0, timeout=20)


def test_create_with_thinking_answers_a_signed_thinking_block_first(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(content=(THOUGHT, Text("Sunny in Oslo."))))
    message = claude.messages.create(
        model="claude",
        max_tokens=4096,
        thinking=THINKING,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
    )
    first = message.content[0]
    assert first.type == "thinking"
    assert (first.thinking, first.signature) == (THOUGHT.thinking, "sig-oslo-42")
    assert message.content[1].type == "text"
    assert fake_anthropic.last.json["thinking"] == THINKING
    assert "reasoning_effort" not in fake_anthropic.last.json


def test_the_streamed_final_message_has_the_signed_thinking_block(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(
        Reply(content=(THOUGHT, RedactedThinking("opaque-1"), Text("Sunny.")), delta_chars=8)
    )
    with claude.messages.stream(
        model="claude",
        max_tokens=4096,
        thinking=THINKING,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "signature" in kinds  # the SDK's event for a signature_delta
    assert [block.type for block in final.content] == ["thinking", "redacted_thinking", "text"]
    thinking, redacted = final.content[0], final.content[1]
    assert thinking.type == "thinking"
    assert redacted.type == "redacted_thinking"
    assert (thinking.thinking, thinking.signature) == (THOUGHT.thinking, "sig-oslo-42")
    assert redacted.data == "opaque-1"


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_sends_the_thinking_back_with_its_signature(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    use = ToolUse("toolu_oslo", "get_weather", {"q": "Oslo"})
    fake_anthropic.enqueue(
        Reply(content=(THOUGHT, use), stop_reason="tool_use"),
        Reply(content=(Text("Sunny in Oslo."),)),
    )
    request: Any = {
        "model": "claude",
        "max_tokens": 4096,
        "thinking": THINKING,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
    }
    if stream:
        with claude.messages.stream(**request) as events:
            first = events.get_final_message()
    else:
        first = claude.messages.create(**request)
    assert first.stop_reason == "tool_use"
    assistant = [block.model_dump(exclude_none=True) for block in first.content]
    request["messages"] += [
        {"role": "assistant", "content": assistant},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_oslo", "content": "sunny"}],
        },
    ]

    second = claude.messages.create(**request)

    assert second.content[0].type == "text"
    sent = fake_anthropic.last.json["messages"][1]["content"]
    assert sent[0] == {
        "type": "thinking",
        "thinking": THOUGHT.thinking,
        "signature": "sig-oslo-42",
    }
    assert sent[1] == {
        "type": "tool_use",
        "id": "toolu_oslo",
        "name": "get_weather",
        "input": use.input,
    }


def test_a_tampered_thinking_block_is_the_upstreams_400(
    claude: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Reply(content=(THOUGHT, Text("Sunny."))))
    claude.messages.create(
        model="claude",
        max_tokens=4096,
        thinking=THINKING,
        messages=[{"role": "user", "content": "Weather?"}],
    )
    rewritten: Any = {"type": "thinking", "thinking": "Something else.", "signature": "sig-oslo-42"}
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(
            model="claude",
            max_tokens=4096,
            thinking=THINKING,
            messages=[
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [rewritten, {"type": "text", "text": "Sunny."}]},
                {"role": "user", "content": "And tomorrow?"},
            ],
        )

"""StreamMeter: the upstream's reported usage when a chunk carries it, else an estimate."""

from __future__ import annotations

from typing import Any

from gateway.platform.prices import Price
from gateway.policy.quotas import StreamMeter


def chunk(content: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"choices": [{"index": 0, "delta": {"content": content}}]}
    if usage is not None:
        body["usage"] = usage
    return body


def meter(**allowance: int | None) -> StreamMeter:
    return StreamMeter(
        prompt_tokens=10,
        price=Price(0.0, 1000.0),  # 1000 micro-USD per answer token
        chars_per_token=4.0,
        budget_micro=allowance.get("budget_micro"),
        tokens=allowance.get("tokens"),
    )


def test_reported_usage_wins_and_the_text_since_is_estimated() -> None:
    counted = meter()
    assert counted.add(chunk("abcdefgh")) == ""  # 8 characters: 2 tokens
    assert counted.completion_tokens == 2
    counted.add(chunk("ab", usage={"prompt_tokens": 7, "completion_tokens": 5}))
    assert (counted.prompt_tokens, counted.completion_tokens) == (7, 5)
    counted.add(chunk("abcde"))  # 5 characters since the report: 2 tokens more
    assert counted.completion_tokens == 7


def test_role_and_tool_calls() -> None:
    counted = meter()
    counted.add({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    assert counted.completion_tokens == 0
    call = {"index": 0, "id": "c", "function": {"name": "get", "arguments": '{"q": 1}'}}
    counted.add({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    assert counted.completion_tokens == 3  # "c" + "get" + '{"q": 1}': 12 characters


def test_each_allowance_is_used_up_where_it_ends() -> None:
    budget = meter(budget_micro=3000)  # 3 answer tokens
    assert budget.add(chunk("abcdefgh")) == ""
    assert budget.add(chunk("abcd")) == "budget"
    tokens = meter(tokens=12)  # 10 prompt + 2 answer tokens
    assert tokens.add(chunk("abcd")) == ""
    assert tokens.add(chunk("a")) == "tokens"
    free = StreamMeter(
        prompt_tokens=10, price=Price(), chars_per_token=4.0, budget_micro=0, tokens=None
    )
    assert free.add(chunk("a" * 400)) == ""  # a free model never uses up a budget


def test_the_meter_knows_which_choices_are_still_open() -> None:
    counting = meter(budget_micro=10**9)
    assert counting.unfinished_choices() == {0}  # nothing seen: the one choice there is
    counting.add({"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]})
    counting.add({"choices": [{"index": 1, "delta": {"content": "b"}, "finish_reason": None}]})
    counting.add({"choices": [{"index": 2, "delta": {"content": "c"}, "finish_reason": None}]})
    counting.add({"choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]})
    assert counting.unfinished_choices() == {0, 2}
    counting.add({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    counting.add({"choices": [{"index": 2, "delta": {}, "finish_reason": "stop"}]})
    counting.add({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}})
    assert counting.unfinished_choices() == set()  # a usage chunk after the end opens none


def test_the_meter_says_when_its_count_is_an_estimate() -> None:
    counted = meter()  # counting only: no allowance to watch
    assert counted.estimated  # nothing reported yet
    assert counted.add(chunk("abcdefghi")) == ""
    assert (counted.completion_tokens, counted.estimated) == (3, True)
    counted.add({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}})
    assert (counted.prompt_tokens, counted.completion_tokens, counted.estimated) == (3, 9, False)
    counted.add(chunk("ab"))  # text after the report: estimated again
    assert (counted.completion_tokens, counted.estimated) == (10, True)

"""Chat completions with a ``file_search`` tool, through the official openai client.

The fake upstream echoes the last user message, so a question that ends in "[1]" gets an
answer citing source 1; what the upstream received shows the context the gateway added.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from gateway.policy.retrieval._context import INSTRUCTIONS, NOTHING_FOUND
from tests.gateway.retrieval.conftest import STORE, ChatStack

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _file_search(**extra: Any) -> dict[str, Any]:
    return {"type": "file_search", "vector_store_ids": [STORE], **extra}


def _tools(*entries: dict[str, Any]) -> Any:
    """Tool entries as the SDK sends them (its types know no file_search in chat)."""
    return list(entries)


def _sent(stack: ChatStack) -> dict[str, Any]:
    return stack.upstream.requests[-1].body


def _citation(annotation: Any) -> dict[str, Any]:
    raw = annotation if isinstance(annotation, dict) else annotation.model_dump()
    assert raw["type"] == "file_citation"
    citation: dict[str, Any] = raw["file_citation"]
    return citation


def test_retrieved_passages_reach_the_upstream_and_come_back_as_citations(
    chat_stack: ChatStack,
) -> None:
    question = "How many days do I have to send an unused item back? [1]"
    completion = chat_stack.client(chat_stack.reader).chat.completions.create(
        model="rag-local",
        messages=[
            {"role": "system", "content": "You are the shop assistant."},
            {"role": "user", "content": question},
        ],
        tools=_tools(_file_search(max_num_results=2), WEATHER_TOOL),
        tool_choice="none",
    )
    sent = _sent(chat_stack)
    # file_search is answered here; the other tool and the tool choice go on
    assert sent["tools"] == [WEATHER_TOOL]
    assert sent["tool_choice"] == "none"
    messages = sent["messages"]
    assert [m["role"] for m in messages] == ["system", "system", "user"]
    context = messages[1]["content"]
    assert context.startswith(INSTRUCTIONS)
    assert "[1] returns-policy.md\nReturns. Unused items can be sent back within 30 days" in context
    assert "\n\n[2] " in context
    assert "\n\n[3] " not in context  # max_num_results=2

    message = completion.choices[0].message
    assert message.content == f"echo: {question}"
    annotations = message.annotations or []
    assert len(annotations) == 1
    citation = _citation(annotations[0])
    assert citation["file_id"] == "file-returns"
    assert citation["filename"] == "returns-policy.md"
    assert isinstance(citation["chunk_id"], int)
    assert 0 < citation["score"] <= 1
    marker = message.content[citation["start_index"] : citation["end_index"]]
    assert marker == "[1]"


def test_streamed_answers_end_with_a_chunk_of_annotations(chat_stack: ChatStack) -> None:
    question = "What does ALR-3317 mean? [1] [9]"
    stream = chat_stack.client(chat_stack.reader).chat.completions.create(
        model="rag-local",
        messages=[{"role": "user", "content": question}],
        tools=_tools(_file_search()),
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1].choices[0]
    assert last.finish_reason is None
    annotations = last.delta.model_dump()["annotations"]
    assert [c.choices[0].finish_reason for c in chunks[-2:-1]] == ["stop"]
    assert "tools" not in _sent(chat_stack)
    assert len(annotations) == 1  # [9] names no source
    citation = _citation(annotations[0])
    assert citation["filename"] == "alerts-runbook.md"
    assert text[citation["start_index"] : citation["end_index"]] == "[1]"


def test_a_search_that_finds_nothing_still_answers_with_no_citations(
    chat_stack: ChatStack,
) -> None:
    nothing = {"type": "eq", "key": "team", "value": "legal"}
    completion = chat_stack.client(chat_stack.admin).chat.completions.create(
        model="rag-local",
        messages=[{"role": "user", "content": "What is the refund window? [1]"}],
        tools=_tools(_file_search(filters=nothing)),
    )
    assert completion.choices[0].message.annotations == []
    assert _sent(chat_stack)["messages"][0] == {"role": "system", "content": NOTHING_FOUND}


def test_filters_narrow_what_is_retrieved(chat_stack: ChatStack) -> None:
    chat_stack.client(chat_stack.admin).chat.completions.create(
        model="rag-local",
        messages=[{"role": "user", "content": "What is the refund window?"}],
        tools=_tools(_file_search(filters={"type": "eq", "key": "team", "value": "hr"})),
    )
    context = _sent(chat_stack)["messages"][0]["content"]
    assert "travel-policy.md" in context
    assert "returns-policy.md" not in context


def test_the_context_window_bounds_the_passages(chat_stack: ChatStack) -> None:
    raw = chat_stack.client(chat_stack.admin).chat.completions.with_raw_response.create(
        model="rag-small",  # context_window 700 tokens
        max_tokens=520,  # leaves ~60 tokens for sources after the prompt and instructions
        messages=[{"role": "user", "content": "Tell me about refunds and returns."}],
        tools=_tools(_file_search(max_num_results=5)),
    )
    assert raw.headers["x-ragway-file-search"].startswith("found=5; used=")
    used = int(raw.headers["x-ragway-file-search"].rsplit("=", 1)[1])
    assert 0 < used < 5
    context = _sent(chat_stack)["messages"][0]["content"]
    assert f"\n\n[{used}] " in context
    assert f"\n\n[{used + 1}] " not in context  # the lowest-ranked were dropped


def test_a_key_without_access_to_the_store_is_refused(chat_stack: ChatStack) -> None:
    before = len(chat_stack.upstream.requests)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat_stack.client(chat_stack.outsider).chat.completions.create(
            model="rag-local",
            messages=[{"role": "user", "content": "refunds?"}],
            tools=_tools(_file_search()),
        )
    assert STORE in str(caught.value)
    assert len(chat_stack.upstream.requests) == before  # nothing went upstream


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": "file_search"}, "tools[0].vector_store_ids"),
        (_file_search(max_num_results=0), "tools[0].max_num_results"),
        (_file_search(filters={"type": "eq", "key": "team"}), "tools[0].filters"),
        (_file_search(ranking_options={"score_threshold": 2}), "tools[0].ranking_options"),
    ],
)
def test_bad_file_search_tools_are_refused(
    chat_stack: ChatStack, tool: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat_stack.client(chat_stack.admin).chat.completions.create(
            model="rag-local",
            messages=[{"role": "user", "content": "refunds?"}],
            tools=_tools(tool),
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert str(body["param"]).startswith(param)


def test_unknown_stores_are_not_found(chat_stack: ChatStack) -> None:
    with pytest.raises(openai.NotFoundError):
        chat_stack.client(chat_stack.admin).chat.completions.create(
            model="rag-local",
            messages=[{"role": "user", "content": "refunds?"}],
            tools=_tools({"type": "file_search", "vector_store_ids": ["vs_missing"]}),
        )


@pytest.mark.parametrize(("model", "masked"), [("rag-external", True), ("rag-local", False)])
def test_retrieved_text_passes_the_pii_policy_of_the_deployment(
    chat_stack: ChatStack, model: str, masked: bool
) -> None:
    chat_stack.client(chat_stack.admin).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Whom do I contact when the payments page fails?"}],
        tools=_tools(_file_search(filters={"type": "eq", "key": "team", "value": "ops"})),
    )
    context = _sent(chat_stack)["messages"][0]["content"]
    assert "alerts-runbook.md" in context
    assert ("ops-lead@example.com" in context) is not masked
    assert ("<EMAIL_ADDRESS" in context) is masked


@pytest.mark.parametrize("stream", [False, True])
def test_marker_positions_refer_to_the_answer_after_pii_is_restored(
    chat_stack: ChatStack, stream: bool
) -> None:
    question = "Is ops-lead@example.com the escalation contact? [1]"
    client = chat_stack.client(chat_stack.admin)
    kwargs: dict[str, Any] = {
        "model": "rag-external",
        "messages": [{"role": "user", "content": question}],
        "tools": _tools(_file_search()),
    }
    if stream:
        chunks = list(client.chat.completions.create(stream=True, **kwargs))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        annotations = chunks[-1].choices[0].delta.model_dump()["annotations"]
    else:
        message = client.chat.completions.create(**kwargs).choices[0].message
        text, annotations = message.content or "", message.annotations or []
    assert "ops-lead@example.com" not in str(_sent(chat_stack)["messages"])  # masked upstream
    assert "ops-lead@example.com" in text  # and restored for the client
    citation = _citation(annotations[0])
    assert text[citation["start_index"] : citation["end_index"]] == "[1]"

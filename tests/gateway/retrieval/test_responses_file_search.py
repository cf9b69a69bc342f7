"""``/v1/responses`` with the ``file_search`` tool, through the official openai client.

The model decides to search: the fake upstream calls the first function it is offered (the
gateway's search function) with the user's text, then echoes the tool result it is given.
So the answer quotes the numbered passages, and "[1]" in it is a citation. Both upstream
kinds: ``rag-external`` speaks Responses natively, ``rag-translate`` chat completions.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.gateway.retrieval.conftest import STORE, ChatStack

MODELS = ["rag-external", "rag-translate"]
QUESTION = "How many days do I have to send an unused item back?"


def _file_search(**extra: Any) -> Any:
    return [{"type": "file_search", "vector_store_ids": [STORE], **extra}]


def _wire(stack: ChatStack, since: int) -> str:
    return json.dumps([r.body for r in stack.upstream.requests[since:]])


@pytest.mark.parametrize("model", MODELS)
def test_the_model_searches_and_the_answer_cites_the_files(
    chat_stack: ChatStack, model: str
) -> None:
    since = len(chat_stack.upstream.requests)
    response = chat_stack.client(chat_stack.reader).responses.create(
        model=model,
        input=QUESTION,
        tools=_file_search(max_num_results=2),
        include=["file_search_call.results"],
    )
    calls = [item for item in response.output if item.type == "file_search_call"]
    messages = [item for item in response.output if item.type == "message"]
    assert len(calls) == 1
    assert [item.type for item in response.output] == ["file_search_call", "message"]
    search = calls[0]
    assert search.status == "completed"
    assert search.queries == [QUESTION]
    assert search.results is not None
    assert 1 <= len(search.results) <= 2
    assert search.results[0].file_id == "file-returns"
    assert search.results[0].filename == "returns-policy.md"
    assert "30 days" in (search.results[0].text or "")
    text = response.output_text
    assert text.startswith("echo: [1] returns-policy.md")
    part = messages[0].content[0]
    assert part.type == "output_text"
    citation = part.annotations[0]
    assert citation.type == "file_citation"
    assert citation.file_id == "file-returns"
    assert citation.filename == "returns-policy.md"
    assert text[citation.index : citation.index + 3] == "[1]"
    # two model calls; the store id and the tool never reached the upstream
    assert len(chat_stack.upstream.requests) - since == 2
    wire = _wire(chat_stack, since)
    assert STORE not in wire
    assert "vector_store_ids" not in wire
    assert "30 days of delivery" in wire  # the passage went to the model as the tool result


@pytest.mark.parametrize("model", MODELS)
def test_streamed_search_events_and_annotations(chat_stack: ChatStack, model: str) -> None:
    kinds: list[str] = []
    with chat_stack.client(chat_stack.reader).responses.stream(
        model=model, input=QUESTION, tools=_file_search()
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_response()
    for kind in (
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_text.annotation.added",
        "response.completed",
    ):
        assert kind in kinds
    assert kinds.index("response.file_search_call.completed") < kinds.index(
        "response.output_text.delta"
    )
    assert "response.function_call_arguments.delta" not in kinds  # the search is ours
    assert [item.type for item in final.output] == ["file_search_call", "message"]
    assert final.output[0].results is None  # type: ignore[union-attr]  # not included
    message = final.output[1]
    assert message.type == "message"
    part = message.content[0]
    assert part.type == "output_text"
    assert part.annotations[0].file_id == "file-returns"  # type: ignore[union-attr]


def test_a_key_without_access_to_the_store_is_refused(chat_stack: ChatStack) -> None:
    since = len(chat_stack.upstream.requests)
    with pytest.raises(openai.PermissionDeniedError):
        chat_stack.client(chat_stack.outsider).responses.create(
            model="rag-external", input=QUESTION, tools=_file_search()
        )
    assert len(chat_stack.upstream.requests) == since


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        (_file_search(max_num_results=0), "tools[0].max_num_results"),
        ([{"type": "file_search", "vector_store_ids": []}], "tools[0].vector_store_ids"),
        (_file_search(filters={"type": "nope"}), "tools[0].filters"),
        (
            [*_file_search(), {"type": "function", "name": "file_search"}],
            "tools[1].name",
        ),
    ],
)
def test_bad_file_search_tools_are_400(chat_stack: ChatStack, tools: Any, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat_stack.client(chat_stack.reader).responses.create(
            model="rag-external", input=QUESTION, tools=tools
        )
    assert caught.value.body["param"] == param  # type: ignore[index]


@pytest.mark.parametrize("model", MODELS)
def test_passages_are_masked_upstream_and_restored_in_the_answer(
    chat_stack: ChatStack, model: str
) -> None:
    since = len(chat_stack.upstream.requests)
    response = chat_stack.client(chat_stack.admin).responses.create(
        model=model,
        input="Whom do I contact when the payments page fails?",
        tools=_file_search(filters={"type": "eq", "key": "team", "value": "ops"}),
    )
    wire = _wire(chat_stack, since)
    assert "alerts-runbook.md" in wire
    assert "ops-lead@example.com" not in wire  # both deployments are external: masked
    assert "<EMAIL_ADDRESS" in wire
    assert "ops-lead@example.com" in response.output_text  # restored for the client


def test_max_tool_calls_zero_answers_without_searching(chat_stack: ChatStack) -> None:
    since = len(chat_stack.upstream.requests)
    response = chat_stack.client(chat_stack.reader).responses.create(
        model="rag-translate", input=QUESTION, tools=_file_search(), max_tool_calls=0
    )
    assert [item.type for item in response.output] == ["message"]
    assert chat_stack.upstream.requests[since].body["tool_choice"] == "none"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("choice", "first"),
    [
        ("required", "required"),
        ({"type": "file_search"}, {"type": "function", "name": "file_search"}),
    ],
)
def test_a_required_or_forced_search_is_asked_once(
    chat_stack: ChatStack, model: str, choice: Any, first: Any
) -> None:
    since = len(chat_stack.upstream.requests)
    response = chat_stack.client(chat_stack.reader).responses.create(
        model=model, input=QUESTION, tools=_file_search(), tool_choice=choice
    )
    assert [item.type for item in response.output] == ["file_search_call", "message"]
    sent = [r.body.get("tool_choice") for r in chat_stack.upstream.requests[since:]]
    if model == "rag-translate" and isinstance(first, dict):
        first = {"type": "function", "function": {"name": "file_search"}}
    assert sent[0] == first
    # once searched, "required" is met and a forced search is not forced again
    assert sent[1] in (None, "auto")


def test_a_file_search_tool_choice_needs_the_tool(chat_stack: ChatStack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat_stack.client(chat_stack.reader).responses.create(
            model="rag-external", input=QUESTION, tool_choice={"type": "file_search"}
        )
    assert caught.value.body["param"] == "tool_choice"  # type: ignore[index]

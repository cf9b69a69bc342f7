"""OpenAI's ``ranking_options``, ``rewrite_query`` and ``search_query``, through the official
openai client: on ``/v1/vector_stores/{id}/search`` and in chat's and Responses'
``file_search`` tools (the seeded store of ``chat_stack``: five chunks in three files).

"ALR-3317" occurs in one chunk only, so the full-text side alone finds exactly that chunk,
while the vector side alone ranks every chunk.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from gateway.policy.retrieval import RANKERS
from tests.gateway.retrieval.conftest import STORE, ChatStack

QUERY = "ALR-3317 payment queue"  # all its words in one chunk: the strict text match
TEXT_ONLY = {"hybrid_search": {"embedding_weight": 0, "text_weight": 1}}
VECTOR_ONLY = {"hybrid_search": {"embedding_weight": 1, "text_weight": 0}}


def _search(stack: ChatStack, **params: Any) -> Any:
    client = stack.client(stack.admin)
    return client.vector_stores.search(vector_store_id=STORE, **{"query": QUERY, **params})


def _chunks(page: Any) -> list[tuple[str, int]]:
    return [(hit.file_id, hit.model_extra["ragway"]["chunk_index"]) for hit in page.data]


def test_search_query_echoes_the_query_as_given(chat_stack: ChatStack) -> None:
    page = _search(chat_stack)
    assert page.search_query == [QUERY]
    assert page.data[0].file_id == "file-alerts"
    listed = _search(chat_stack, query=["ALR-3317", "payment queue"])
    assert listed.search_query == ["ALR-3317", "payment queue"]
    assert listed.data[0].file_id == "file-alerts"


def test_rewrite_query_is_accepted_and_changes_nothing(chat_stack: ChatStack) -> None:
    plain = _search(chat_stack, max_num_results=5)
    rewritten = _search(chat_stack, max_num_results=5, rewrite_query=True)
    assert rewritten.search_query == [QUERY]
    assert _chunks(rewritten) == _chunks(plain)


@pytest.mark.parametrize("ranker", RANKERS)
def test_every_openai_ranker_runs_the_fused_ranking(chat_stack: ChatStack, ranker: str) -> None:
    default = _search(chat_stack, max_num_results=5)
    ranked = _search(chat_stack, max_num_results=5, ranking_options={"ranker": ranker})
    assert _chunks(ranked) == _chunks(default)
    assert [h.score for h in ranked.data] == [h.score for h in default.data]


def test_hybrid_search_weights_choose_the_sides(chat_stack: ChatStack) -> None:
    text = _search(chat_stack, max_num_results=5, ranking_options=TEXT_ONLY)
    assert _chunks(text) == [("file-alerts", 0)]
    assert text.data[0].score == pytest.approx(1.0)  # first on the only side searched
    vector = _search(chat_stack, max_num_results=5, ranking_options=VECTOR_ONLY)
    assert len(vector.data) == 5  # the vector side ranks every chunk
    hybrid = _search(chat_stack, max_num_results=5)
    assert _chunks(hybrid)[0] == ("file-alerts", 0)
    leaning = _search(
        chat_stack,
        max_num_results=5,
        ranking_options={"hybrid_search": {"embedding_weight": 3, "text_weight": 1}},
    )
    assert len(leaning.data) == 5
    assert all(0 < hit.score <= 1 for hit in leaning.data)


def test_score_threshold_drops_the_lower_scores(chat_stack: ChatStack) -> None:
    every = _search(chat_stack, max_num_results=5)
    scores = [hit.score for hit in every.data]
    threshold = (scores[0] + scores[-1]) / 2
    kept = _search(
        chat_stack,
        max_num_results=5,
        ranking_options={"ranker": "auto", "score_threshold": threshold},
    )
    assert 0 < len(kept.data) < len(every.data)
    assert all(hit.score >= threshold for hit in kept.data)


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"ranker": "best"}, "ranking_options.ranker"),
        ({"score_threshold": 1.5}, "ranking_options.score_threshold"),
        ({"score_threshold": "high"}, "ranking_options.score_threshold"),
        ({"rerank": True}, "ranking_options.rerank"),
        ({"hybrid_search": {"embedding_weight": -1, "text_weight": 1}}, "ranking_options"),
        ({"hybrid_search": {"embedding_weight": 1}}, "ranking_options.hybrid_search"),
        ({"hybrid_search": {"embedding_weight": 0, "text_weight": 0}}, "ranking_options"),
        ({"hybrid_search": [1, 1]}, "ranking_options.hybrid_search"),
    ],
)
def test_bad_ranking_options_are_openai_shaped_400s(
    chat_stack: ChatStack, options: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _search(chat_stack, ranking_options=options)
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    assert str(body["param"]).startswith(param)
    assert body["message"]


def test_bad_rewrite_query_and_ranking_options_types_are_400(chat_stack: ChatStack) -> None:
    with pytest.raises(openai.BadRequestError):
        _search(chat_stack, extra_body={"rewrite_query": "yes please"})
    with pytest.raises(openai.BadRequestError) as caught:
        _search(chat_stack, extra_body={"ranking_options": "fast"})
    assert caught.value.body["param"] == "ranking_options"  # type: ignore[index]


def _chat(stack: ChatStack, ranking_options: dict[str, Any]) -> str:
    tool = {
        "type": "file_search",
        "vector_store_ids": [STORE],
        "max_num_results": 5,
        "ranking_options": ranking_options,
    }
    stack.client(stack.admin).chat.completions.create(
        model="rag-local",
        messages=[{"role": "user", "content": QUERY}],
        tools=[tool],  # type: ignore[list-item]
    )
    context: str = stack.upstream.requests[-1].body["messages"][0]["content"]
    return context


def test_chat_file_search_takes_the_ranker_and_the_weights(chat_stack: ChatStack) -> None:
    text = _chat(chat_stack, {"ranker": "default-2024-11-15", **TEXT_ONLY})
    assert "[1] alerts-runbook.md\nALR-3317" in text
    assert "\n\n[2] " not in text  # only the one chunk with the word
    vector = _chat(chat_stack, {"ranker": "auto", **VECTOR_ONLY})
    assert "\n\n[5] " in vector


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"ranker": "fastest"}, "tools[0].ranking_options.ranker"),
        (
            {"hybrid_search": {"embedding_weight": "1", "text_weight": 1}},
            "tools[0].ranking_options.hybrid_search.embedding_weight",
        ),
    ],
)
def test_bad_ranking_options_of_tools_are_400(
    chat_stack: ChatStack, options: dict[str, Any], param: str
) -> None:
    tool = {"type": "file_search", "vector_store_ids": [STORE], "ranking_options": options}
    with pytest.raises(openai.BadRequestError) as caught:
        chat_stack.client(chat_stack.admin).chat.completions.create(
            model="rag-local",
            messages=[{"role": "user", "content": QUERY}],
            tools=[tool],  # type: ignore[list-item]
        )
    assert caught.value.body["param"] == param  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        chat_stack.client(chat_stack.admin).responses.create(
            model="rag-external",
            input=QUERY,
            tools=[tool],  # type: ignore[list-item]
        )
    assert caught.value.body["param"] == param  # type: ignore[index]


def test_responses_file_search_takes_the_weights(chat_stack: ChatStack) -> None:
    tool = {
        "type": "file_search",
        "vector_store_ids": [STORE],
        "ranking_options": {"ranker": "auto", "score_threshold": 0.5, **TEXT_ONLY},
    }
    response = chat_stack.client(chat_stack.admin).responses.create(
        model="rag-translate",
        input=QUERY,
        tools=[tool],  # type: ignore[list-item]
        include=["file_search_call.results"],
    )
    calls = [item for item in response.output if item.type == "file_search_call"]
    assert calls
    assert calls[0].results is not None
    assert [r.file_id for r in calls[0].results] == ["file-alerts"]

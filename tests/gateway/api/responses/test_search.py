"""How the model's search-function arguments become queries (the search itself runs end to
end in tests/gateway/retrieval/test_responses_file_search.py)."""

from __future__ import annotations

import json

import pytest

from gateway.api.openai.responses._search import MAX_QUERIES, MAX_QUERY_CHARS, _queries
from gateway.policy.pipeline import Call


def _call(restore: bool = False) -> Call:
    call = Call(request_id="r", endpoint="responses", started=0.0)
    if restore:
        call.restore = lambda text: text.replace("<PERSON_1>", "Ada")
    return call


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (json.dumps({"queries": ["a", " b ", ""]}), ["a", "b"]),
        (json.dumps({"queries": "one"}), ["one"]),
        (json.dumps({"q": "named otherwise"}), ["named otherwise"]),
        (json.dumps({"queries": [1, None, "x"]}), ["x"]),
        ("not json", []),
        ("", []),
        (json.dumps(["a"]), []),
    ],
)
def test_arguments_become_queries(arguments: str, expected: list[str]) -> None:
    assert _queries(arguments, _call()) == expected


def test_queries_are_bounded() -> None:
    many = json.dumps({"queries": [f"q{i}" for i in range(20)]})
    assert len(_queries(many, _call())) == MAX_QUERIES
    long = json.dumps({"queries": ["x" * (MAX_QUERY_CHARS * 5)]})
    assert len(_queries(long, _call())[0]) == MAX_QUERY_CHARS


def test_placeholders_are_restored_for_our_own_search() -> None:
    arguments = json.dumps({"queries": ["contract of <PERSON_1>"]})
    assert _queries(arguments, _call(restore=True)) == ["contract of Ada"]

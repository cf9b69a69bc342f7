"""Attribute filters: validation, and their meaning as compiled SQL on a real Postgres."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from ingestion.errors import InvalidFilterError
from ingestion.search import Comparison, Compound, compile_filter, parse_filter

ROWS: dict[str, dict[str, Any]] = {
    "a": {"team": "payments", "year": 2021, "public": True, "score": 1.5, "date": "2024-01-10"},
    "b": {"team": "search", "year": 2023, "public": False, "score": 3},
    "c": {"team": "payments", "year": 2024, "date": "2024-06-01"},
    "d": {"year": "2023"},  # a string, not a number
    "e": {},
}


@pytest.fixture(scope="module")
def attributes_table(search_url: str) -> str:
    with psycopg.connect(search_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS filter_rows (name text, attributes jsonb)")
        conn.execute("TRUNCATE filter_rows")
        for name, attributes in ROWS.items():
            conn.execute("INSERT INTO filter_rows VALUES (%s, %s)", (name, Jsonb(attributes)))
    return search_url


def _matching(url: str, raw: dict[str, Any]) -> set[str]:
    compiled = compile_filter(parse_filter(raw), sql.SQL("f.attributes"))
    statement = sql.SQL("SELECT f.name FROM filter_rows AS f WHERE {}").format(compiled.clause)
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(statement, compiled.params)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "eq", "key": "team", "value": "payments"}, {"a", "c"}),
        ({"type": "eq", "key": "year", "value": 2023}, {"b"}),
        ({"type": "eq", "key": "year", "value": "2023"}, {"d"}),
        ({"type": "eq", "key": "score", "value": 3.0}, {"b"}),
        ({"type": "eq", "key": "public", "value": True}, {"a"}),
        ({"type": "ne", "key": "team", "value": "payments"}, {"b", "d", "e"}),
        ({"type": "gt", "key": "year", "value": 2021}, {"b", "c"}),
        ({"type": "gte", "key": "year", "value": 2021}, {"a", "b", "c"}),
        ({"type": "lt", "key": "score", "value": 2}, {"a"}),
        ({"type": "lte", "key": "year", "value": 2023}, {"a", "b"}),
        ({"type": "gte", "key": "date", "value": "2024-03-01"}, {"c"}),
        ({"type": "in", "key": "team", "value": ["search", "ml"]}, {"b"}),
        ({"type": "in", "key": "year", "value": [2021, "2023"]}, {"a", "d"}),
        ({"type": "nin", "key": "team", "value": ["payments"]}, {"b", "d", "e"}),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "team", "value": "payments"},
                    {"type": "gte", "key": "year", "value": 2022},
                ],
            },
            {"c"},
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "public", "value": False},
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "team", "value": "payments"},
                            {"type": "lt", "key": "year", "value": 2022},
                        ],
                    },
                ],
            },
            {"a", "b"},
        ),
    ],
)
def test_filters_match_as_openai_describes(
    attributes_table: str, raw: dict[str, Any], expected: set[str]
) -> None:
    assert _matching(attributes_table, raw) == expected


def test_values_and_keys_are_parameters_never_sql(attributes_table: str) -> None:
    hostile = "x' OR '1'='1"
    raw = {"type": "or", "filters": [{"type": "eq", "key": hostile, "value": hostile}]}
    compiled = compile_filter(parse_filter(raw), sql.SQL("f.attributes"))
    with psycopg.connect(attributes_table) as conn:
        text = compiled.clause.as_string(conn)
    assert hostile not in text
    assert hostile in [str(v) for v in compiled.params.values()]
    assert _matching(attributes_table, raw) == set()


def test_parsing_builds_typed_filters() -> None:
    parsed = parse_filter(
        {"type": "and", "filters": [{"type": "in", "key": "k", "value": ["a", 1, True]}]}
    )
    assert parsed == Compound("and", (Comparison("in", "k", ("a", 1, True)),))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("team", "filters: must be an object"),
        ({"type": "like", "key": "k", "value": "v"}, "filters.type: must be one of"),
        ({"type": "eq", "value": "v"}, "filters.key"),
        ({"type": "eq", "key": "k", "value": {"a": 1}}, "filters.value: must be a string"),
        ({"type": "eq", "key": "k", "value": ["a"]}, "filters.value: must be a string"),
        ({"type": "in", "key": "k", "value": "a"}, "'in' needs a non-empty list"),
        ({"type": "gt", "key": "k", "value": True}, "not booleans"),
        ({"type": "eq", "key": "k", "value": "v", "extra": 1}, "unknown field 'extra'"),
        ({"type": "and", "filters": []}, "filters.filters: must be a non-empty list"),
        (
            {"type": "or", "filters": [{"type": "eq", "key": "k", "value": float("nan")}]},
            "filters.filters[0].value: must be a finite number",
        ),
    ],
)
def test_invalid_filters_name_the_offending_field(raw: Any, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_filter(raw)


def test_filters_are_bounded() -> None:
    deep: dict[str, Any] = {"type": "eq", "key": "k", "value": 1}
    for _ in range(10):
        deep = {"type": "and", "filters": [deep]}
    with pytest.raises(InvalidFilterError, match="nest at most"):
        parse_filter(deep)
    wide = {"type": "or", "filters": [{"type": "eq", "key": "k", "value": i} for i in range(200)]}
    with pytest.raises(InvalidFilterError, match="at most 128 conditions"):
        parse_filter(wide)

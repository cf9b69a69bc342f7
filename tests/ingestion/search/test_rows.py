"""Search rows are read by column name: matched once per result, whatever the column order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, NamedTuple

import psycopg
import pytest

from ingestion.search._rows import named_row


class _Pair(NamedTuple):
    a: int
    b: str


def _cursor(*names: str) -> Any:
    return SimpleNamespace(description=[SimpleNamespace(name=name) for name in names])


def _cursor_without_result() -> Any:
    return SimpleNamespace(description=None)


def test_fields_come_from_the_columns_of_their_name() -> None:
    assert named_row(_Pair)(_cursor("a", "b"))((1, "x")) == _Pair(a=1, b="x")
    assert named_row(_Pair)(_cursor("b", "extra", "a"))(("x", None, 1)) == _Pair(a=1, b="x")


def test_a_missing_column_is_named() -> None:
    with pytest.raises(psycopg.InterfaceError, match="_Pair: the result has no column 'b'"):
        named_row(_Pair)(_cursor("a"))


def test_a_result_without_rows_gets_a_maker_that_refuses() -> None:
    maker = named_row(_Pair)(_cursor_without_result())
    with pytest.raises(psycopg.InterfaceError):
        maker(())

"""Result rows as NamedTuples whose fields are taken from the columns of the same name."""

from __future__ import annotations

import operator
from typing import Any, NamedTuple, TypeVar

from psycopg import AsyncCursor, InterfaceError
from psycopg.rows import AsyncRowFactory, RowMaker, no_result

__all__ = ["PlanRow", "ResultRow", "named_row"]

_Row = TypeVar("_Row", bound=NamedTuple)


class PlanRow(NamedTuple):
    """A searched store, and the chunk counts that choose how the search runs."""

    id: str
    embedding_model: str
    embedding_dimension: int
    filtered_chunks: int
    total_chunks: int


class ResultRow(NamedTuple):
    """One hit. A search that found none gives one row whose ``id`` (and every other hit
    column) is NULL: only ``vector_found`` is set."""

    vector_found: int
    id: int | None
    vector_store_id: str
    file_id: str
    filename: str
    chunk_index: int
    content: str
    score: float
    attributes: dict[str, Any] | None
    vector_rank: int | None
    text_rank: int | None
    page_number: int | None
    section: str | None
    ocr_confidence: float | None


def named_row(cls: type[_Row]) -> AsyncRowFactory[_Row]:
    """A psycopg row factory giving ``cls`` (a NamedTuple) per row, each field from the column
    of its name. Columns are matched once per result; each row costs one ``_make``."""

    def factory(cursor: AsyncCursor[Any]) -> RowMaker[_Row]:
        if cursor.description is None:  # called for results without rows too
            return no_result
        names = [column.name for column in cursor.description]
        missing = [name for name in cls._fields if name not in names]
        if missing:
            raise InterfaceError(f"{cls.__name__}: the result has no column {missing[0]!r}")
        if tuple(names) == cls._fields:
            return cls._make
        pick = operator.itemgetter(*(names.index(name) for name in cls._fields))
        return lambda values: cls._make(pick(values))

    return factory

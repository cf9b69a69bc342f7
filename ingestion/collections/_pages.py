"""Keyset pagination on ``(created_at, id)`` with OpenAI's ``after`` / ``before`` cursors."""

from __future__ import annotations

from typing import Any, TypeVar

from psycopg import sql

from ingestion.collections._records import Page, PageRequest

__all__ = ["page_clause", "to_page"]

T = TypeVar("T")


def page_clause(
    page: PageRequest,
    *,
    table: str,
    key: str = "id",
    scope: sql.Composable | None = None,
    extra_limit: int = 1,
) -> tuple[sql.Composable, sql.Composable, dict[str, Any], bool]:
    """(cursor condition, ORDER BY + LIMIT, params, reversed).

    ``scope`` narrows the cursor lookup (alias ``c``) where ``key`` is unique only within it.

    ``before`` walks backwards from the cursor, so rows come in the opposite order and the
    caller reverses them (``reversed`` is True).
    """
    params: dict[str, Any] = {"page_limit": page.limit + extra_limit}
    descending = page.order == "desc"
    condition: sql.Composable = sql.SQL("TRUE")
    backwards = page.before is not None and page.after is None
    cursor = page.after if page.after is not None else page.before
    column = sql.Identifier(table, key)
    created = sql.Identifier(table, "created_at")
    if cursor is not None:
        params["page_cursor"] = cursor
        # After in descending order (or before in ascending) means older rows.
        older = descending != backwards
        condition = sql.SQL(
            "({created}, {column}) {op} (SELECT c.created_at, c.{key} FROM {tbl} AS c "
            "WHERE c.{key} = %(page_cursor)s AND {scope} LIMIT 1)"
        ).format(
            scope=scope if scope is not None else sql.SQL("TRUE"),
            created=created,
            column=column,
            op=sql.SQL("<" if older else ">"),
            key=sql.Identifier(key),
            tbl=sql.Identifier(table),
        )
    walk_descending = descending != backwards
    direction = sql.SQL("DESC" if walk_descending else "ASC")
    order = sql.SQL("ORDER BY {created} {d}, {column} {d} LIMIT %(page_limit)s").format(
        created=created, column=column, d=direction
    )
    return condition, order, params, backwards


def to_page(rows: list[T], limit: int, backwards: bool) -> Page[T]:
    """Rows fetched with one extra (``has_more``), in the order the caller asked for."""
    items = rows[:limit]
    if backwards:
        items.reverse()
    return Page(items=items, has_more=len(rows) > limit)

"""Usage as CSV, safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is a
formula to Excel and LibreOffice; key names and model aliases are chosen by people, so
such a cell is written with a leading ``'`` and shows as the text it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from gateway.policy.usage import GroupBy, UsageRow

__all__ = ["safe_cell", "usage_csv"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_GROUP_COLUMNS: dict[GroupBy, tuple[str, ...]] = {
    "key": ("key_id", "key_name"),
    "model": ("model",),
    "day": ("day",),
}
_VALUE_COLUMNS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "avg_latency_ms",
)


def safe_cell(value: object) -> str:
    """The cell's text, with a ``'`` in front when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _value(row: UsageRow, column: str) -> object:
    value = getattr(row, column)
    if column == "cost_usd":
        return f"{value:.8f}"
    if column == "avg_latency_ms":
        return f"{value:.1f}"
    return value


def usage_csv(rows: Iterable[UsageRow], groups: Sequence[GroupBy]) -> str:
    """A header and one line per row: the grouping columns, then the totals."""
    columns = [c for g in groups for c in _GROUP_COLUMNS[g]] + list(_VALUE_COLUMNS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(_value(row, column)) for column in columns])
    return out.getvalue()

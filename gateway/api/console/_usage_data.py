"""Usage for the console: read per key, model and day within a scope, then rolled up.

Reads go through ``UsageReport.aggregate`` (the admin API's report). A member's scope is
their own keys, read one key at a time with the report's ``key_id`` filter, so another
key's rows are never fetched. Everything a page shows (totals, per-day series, by-key and
by-model tables, spend per key) is a roll-up of those finest-grained rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.api.console._keys_scope import Scope
from gateway.policy.usage import GroupBy, UsageReport, UsageRow

__all__ = [
    "ALL_GROUPS",
    "Period",
    "daily",
    "days_between",
    "read_usage",
    "roll_up",
    "this_month",
    "today",
    "totals",
]

ALL_GROUPS: tuple[GroupBy, ...] = ("key", "model", "day")


@dataclass(frozen=True, slots=True)
class Period:
    """UTC days ``start`` to ``end``, both included."""

    start: date
    end: date


def today() -> Period:
    day = datetime.now(UTC).date()
    return Period(day, day)


def this_month() -> Period:
    day = datetime.now(UTC).date()
    return Period(day.replace(day=1), day)


def days_between(period: Period) -> list[date]:
    return [period.start + timedelta(days=n) for n in range((period.end - period.start).days + 1)]


async def read_usage(
    report: UsageReport,
    period: Period,
    scope: Scope,
    *,
    key_id: str | None = None,
    model: str | None = None,
    groups: tuple[GroupBy, ...] = ALL_GROUPS,
) -> list[UsageRow]:
    """Rows for ``period`` grouped by ``groups`` (always including key), within ``scope``."""
    groups = ("key", *(g for g in groups if g != "key"))
    if scope is None:
        return await report.aggregate(
            start=period.start, end=period.end, group_by=groups, key_id=key_id, model=model
        )
    wanted = [k for k in scope if key_id is None or k == key_id]
    rows: list[UsageRow] = []
    for one in wanted:
        rows += await report.aggregate(
            start=period.start, end=period.end, group_by=groups, key_id=one, model=model
        )
    return rows


def _merge(rows: Sequence[UsageRow], **fields: object) -> UsageRow:
    requests = sum(r.requests for r in rows)
    latency = sum(r.avg_latency_ms * r.requests for r in rows)
    prompt = sum(r.prompt_tokens for r in rows)
    completion = sum(r.completion_tokens for r in rows)
    return UsageRow.model_validate(
        {
            **fields,
            "requests": requests,
            "errors": sum(r.errors for r in rows),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost_usd": sum(r.cost_usd for r in rows),
            "avg_latency_ms": latency / requests if requests else 0.0,
        }
    )


def roll_up(rows: Iterable[UsageRow], by: Sequence[GroupBy]) -> list[UsageRow]:
    """``rows`` summed per distinct value of the ``by`` fields, ordered by those values."""
    buckets: dict[tuple[object, ...], list[UsageRow]] = {}
    for row in rows:
        buckets.setdefault(tuple(_group_value(row, g) for g in by), []).append(row)
    merged = []
    for group, members in sorted(buckets.items(), key=lambda item: _order(item[0])):
        fields: dict[str, object] = {}
        for name, value in zip(by, group, strict=True):
            fields["key_id" if name == "key" else name] = value
            if name == "key":
                fields["key_name"] = members[0].key_name
        merged.append(_merge(members, **fields))
    return merged


def _order(group: tuple[object, ...]) -> tuple[str, ...]:
    return tuple("" if value is None else str(value) for value in group)


def _group_value(row: UsageRow, group: GroupBy) -> object:
    return row.key_id if group == "key" else row.model if group == "model" else row.day


def totals(rows: Iterable[UsageRow]) -> UsageRow:
    """Everything in ``rows`` as one row (zeros when there is nothing)."""
    return _merge(list(rows))


def daily(rows: Iterable[UsageRow], period: Period) -> list[UsageRow]:
    """One row per day of ``period`` (zeros on days without usage), in day order."""
    by_day = {row.day: row for row in roll_up(rows, ("day",))}
    return [by_day.get(day) or _merge([], day=day) for day in days_between(period)]

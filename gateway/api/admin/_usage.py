"""``GET /admin/usage``: requests, tokens, spend and latency by key, model and UTC day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal, cast

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from pydantic import BaseModel

from gateway.api.admin._guard import admin_dependency
from gateway.platform.errors import InvalidRequestError
from gateway.policy.auth import Principal
from gateway.policy.usage import GroupBy, UsageReport, UsageRow

__all__ = ["AdminUsageController", "UsageList"]

_GROUPS = ("key", "model", "day")


class UsageList(BaseModel):
    object: Literal["list"] = "list"
    start: date
    end: date
    group_by: list[str]
    data: list[UsageRow]


def _report(state: State) -> UsageReport:
    report: UsageReport = state.gateway.usage_report
    return report


def _group_by(text: str) -> tuple[GroupBy, ...]:
    groups = tuple(g.strip() for g in text.split(",") if g.strip())
    unknown = [g for g in groups if g not in _GROUPS]
    if unknown:
        raise InvalidRequestError(
            f"group_by: unknown grouping {unknown[0]!r}; use any of key, model, day",
            param="group_by",
        )
    return cast(tuple[GroupBy, ...], groups)


class AdminUsageController(Controller):
    path = "/admin/usage"
    tags = ["admin"]
    dependencies = {
        "admin": admin_dependency(),
        "report": Provide(_report, sync_to_thread=False),
    }

    @get("/", summary="Usage aggregated by key, model and day (UTC)", cache=False)
    async def usage(
        self,
        admin: NamedDependency[Principal],
        report: NamedDependency[UsageReport],
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
        key_id: FromQuery[str | None] = None,
        model: FromQuery[str | None] = None,
        group_by: FromQuery[str] = "key,model,day",
    ) -> UsageList:
        """``start`` defaults to the first day of this month, ``end`` to today (inclusive)."""
        today = datetime.now(UTC).date()
        start = start or today.replace(day=1)
        end = end or today
        if end < start:
            raise InvalidRequestError("end is before start", param="end")
        if end >= date.max:  # the report reads up to the day after end
            raise InvalidRequestError(f"end must be before {date.max.isoformat()}", param="end")
        groups = _group_by(group_by)
        rows = await report.aggregate(
            start=start, end=end, group_by=groups, key_id=key_id, model=model
        )
        return UsageList(start=start, end=end, group_by=list(groups), data=rows)

"""What the overview shows: an admin's totals for today and this month, the number of active
keys and the top spenders; a member's own keys with what each has left."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.api.console._charts import BarChart
from gateway.api.console._keys_detail import KeyUse, key_use
from gateway.api.console._keys_scope import key_status, own_keys
from gateway.api.console._services import ConsoleServices
from gateway.api.console._usage_data import read_usage, roll_up, this_month, today, totals
from gateway.api.console._usage_view import usage_charts
from gateway.api.console._user import ConsoleUser
from gateway.policy.usage import UsageRow

__all__ = ["AdminOverview", "admin_overview", "member_overview"]

TOP = 5


@dataclass(frozen=True, slots=True)
class AdminOverview:
    today: UsageRow
    month: UsageRow
    active_keys: int
    top: list[UsageRow]  # this month's biggest spenders
    charts: list[BarChart]  # this month's requests and cost per day


async def admin_overview(services: ConsoleServices) -> AdminOverview:
    month = this_month()
    month_rows = await read_usage(services.usage, month, None, groups=("key", "day"))
    today_rows = await read_usage(services.usage, today(), None, groups=("key",))
    keys = await services.keys.list(limit=10_000)
    by_cost = sorted(roll_up(month_rows, ("key",)), key=lambda r: r.cost_usd, reverse=True)
    return AdminOverview(
        today=totals(today_rows),
        month=totals(month_rows),
        active_keys=sum(1 for k in keys if key_status(k) == "active"),
        top=[row for row in by_cost if row.requests][:TOP],
        charts=[c for c in usage_charts(month_rows, month) if c.key in ("requests", "cost")],
    )


async def member_overview(services: ConsoleServices, user: ConsoleUser) -> list[KeyUse]:
    """Each of the member's own live keys with today's and this month's use."""
    keys = [k for k in await own_keys(services.keys, user) if key_status(k) == "active"]
    return [await key_use(services.usage, key) for key in keys]

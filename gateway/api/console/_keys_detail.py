"""A key's page: its allowances, what it used today and spent this month, and 30 days of use.

"Today" and "this month" are UTC, as the quota and budget checks count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.api.console._charts import BarChart
from gateway.api.console._keys_scope import key_status
from gateway.api.console._usage_data import Period, read_usage, this_month, today, totals
from gateway.api.console._usage_view import usage_charts
from gateway.policy.keys import KeyRecord
from gateway.policy.usage import UsageReport, UsageRow

__all__ = ["CHART_DAYS", "KeyDetail", "KeyUse", "key_detail", "key_use"]

CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class KeyUse:
    """A key with what it used today and this month (UTC), for meters."""

    key: KeyRecord
    today: UsageRow
    month: UsageRow

    @property
    def status(self) -> str:
        return key_status(self.key)

    @property
    def tokens_left_today(self) -> int | None:
        limit = self.key.tokens_per_day
        return None if limit is None else max(limit - self.today.total_tokens, 0)

    @property
    def budget_left(self) -> float | None:
        budget = self.key.monthly_budget_usd
        return None if budget is None else max(budget - self.month.cost_usd, 0.0)


@dataclass(frozen=True, slots=True)
class KeyDetail:
    use: KeyUse
    charts: list[BarChart]
    period: Period


async def key_use(report: UsageReport, key: KeyRecord) -> KeyUse:
    """What ``key`` used today and this month."""
    scope = (key.id,)
    day = await read_usage(report, today(), scope, groups=("key",))
    month = await read_usage(report, this_month(), scope, groups=("key",))
    return KeyUse(key, totals(day), totals(month))


async def key_detail(report: UsageReport, key: KeyRecord) -> KeyDetail:
    end = today().end
    period = Period(end - timedelta(days=CHART_DAYS - 1), end)
    rows = await read_usage(report, period, (key.id,), groups=("day",))
    return KeyDetail(await key_use(report, key), usage_charts(rows, period), period)

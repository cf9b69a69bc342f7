"""What ``/console/usage`` shows: the filters, three daily charts, tables, top spenders and
budget burn, all read within the user's scope (see ``_keys_scope``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.api.console._charts import BarChart, Series, bar_chart
from gateway.api.console._keys_scope import Scope, own_keys, scope_of
from gateway.api.console._services import ConsoleServices
from gateway.api.console._usage_data import (
    Period,
    daily,
    read_usage,
    roll_up,
    this_month,
    totals,
)
from gateway.api.console._user import ConsoleUser
from gateway.platform.errors import InvalidRequestError
from gateway.policy.keys import KeyRecord
from gateway.policy.usage import UsageRow

__all__ = [
    "BudgetBurn",
    "UsageFilters",
    "UsageView",
    "budget_burn",
    "key_options",
    "parse_day",
    "parse_filters",
    "usage_charts",
    "usage_view",
]

MAX_DAYS = 366
TOP_SPENDERS = 10


@dataclass(frozen=True, slots=True)
class UsageFilters:
    period: Period
    key_id: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class BudgetBurn:
    """A key's spend this month against its monthly budget."""

    key: KeyRecord
    spent: float
    budget: float

    @property
    def percent(self) -> float:
        return self.spent / self.budget * 100 if self.budget else (100.0 if self.spent else 0.0)

    @property
    def over(self) -> bool:
        return self.spent > self.budget


@dataclass(frozen=True, slots=True)
class UsageView:
    filters: UsageFilters
    keys: list[KeyRecord]  # the keys the user may filter by
    total: UsageRow
    charts: list[BarChart]
    by_key: list[UsageRow]
    by_model: list[UsageRow]
    top: list[UsageRow]
    burn: list[BudgetBurn]


def parse_day(text: str, field: str) -> date | None:
    """A ``YYYY-MM-DD`` form value (empty: none), or a 400 naming the field."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequestError(
            f"{field}: '{text[:20]}' is not a date (use YYYY-MM-DD)", param=field
        ) from exc


def parse_filters(start: str, end: str, key_id: str, model: str) -> UsageFilters:
    """The form's values; the range defaults to this month so far."""
    month = this_month()
    first = parse_day(start, "start") or month.start
    last = parse_day(end, "end") or month.end
    if last < first:
        raise InvalidRequestError("end: the end date is before the start date", param="end")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequestError(f"end: choose at most {MAX_DAYS} days", param="end")
    return UsageFilters(Period(first, last), key_id.strip() or None, model.strip() or None)


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _usd(value: float) -> str:
    """Dollars; a fraction of a cent keeps the digits that tell it from nothing."""
    if 0 < value < 0.01:
        return "$" + f"{value:.6f}".rstrip("0")
    return f"${value:,.2f}"


def usage_charts(rows: list[UsageRow], period: Period) -> list[BarChart]:
    """Requests, tokens (input and output stacked) and cost per day of ``period``."""
    days = daily(rows, period)
    dates = [row.day for row in days if row.day is not None]

    def series(name: str, values: list[float]) -> Series:
        return Series(name, tuple(values))

    return [
        bar_chart(
            "requests",
            "Requests per day",
            dates,
            [series("Requests", [r.requests for r in days])],
            _count,
        ),
        bar_chart(
            "tokens",
            "Tokens per day",
            dates,
            [
                series("Input tokens", [r.prompt_tokens for r in days]),
                series("Output tokens", [r.completion_tokens for r in days]),
            ],
            _count,
        ),
        bar_chart(
            "cost", "Cost per day", dates, [series("Cost", [r.cost_usd for r in days])], _usd
        ),
    ]


async def key_options(services: ConsoleServices, user: ConsoleUser) -> list[KeyRecord]:
    if user.is_admin:
        return await services.keys.list(include_revoked=True, limit=1000)
    return await own_keys(services.keys, user)


async def budget_burn(
    services: ConsoleServices, scope: Scope, keys: list[KeyRecord]
) -> list[BudgetBurn]:
    """Each key with a monthly budget: what it spent this month (UTC) against it."""
    budgeted = [k for k in keys if k.monthly_budget_usd is not None and k.revoked_at is None]
    if not budgeted:
        return []
    rows = await read_usage(services.usage, this_month(), scope, groups=("key",))
    spent = {row.key_id: row.cost_usd for row in rows}
    burn = [BudgetBurn(k, spent.get(k.id, 0.0), k.monthly_budget_usd or 0.0) for k in budgeted]
    return sorted(burn, key=lambda b: b.percent, reverse=True)


async def usage_view(
    services: ConsoleServices, user: ConsoleUser, filters: UsageFilters
) -> UsageView:
    scope = await scope_of(services.keys, user)
    rows = await read_usage(
        services.usage, filters.period, scope, key_id=filters.key_id, model=filters.model
    )
    keys = await key_options(services, user)
    by_key = sorted(roll_up(rows, ("key",)), key=lambda r: r.cost_usd, reverse=True)
    return UsageView(
        filters=filters,
        keys=keys,
        total=totals(rows),
        charts=usage_charts(rows, filters.period),
        by_key=by_key,
        by_model=sorted(roll_up(rows, ("model",)), key=lambda r: r.requests, reverse=True),
        top=[row for row in by_key if row.cost_usd > 0][:TOP_SPENDERS],
        burn=await budget_burn(services, scope, keys),
    )

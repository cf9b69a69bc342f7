"""Values the quota stores and service pass around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "Allowance",
    "Demand",
    "Limits",
    "Outcome",
    "Period",
    "Reservation",
    "Settlement",
    "StoreName",
]

StoreName = Literal["redis", "local", "none"]
WINDOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class Limits:
    """A key's limits; ``None`` means no limit. The budget is in micro-USD."""

    rpm: int | None = None
    tpm: int | None = None
    tokens_per_day: int | None = None
    budget_micro: int | None = None


@dataclass(frozen=True, slots=True)
class Demand:
    """What one request may use at most: estimated prompt tokens plus the answer's allowance."""

    tokens: int
    cost_micro: int


@dataclass(frozen=True, slots=True)
class Period:
    """The calendar day and month (UTC) a request counts towards, and when each ends."""

    day: str
    month: str
    day_left_s: int
    month_left_s: int

    @classmethod
    def at(cls, now: datetime) -> Period:
        now = now.astimezone(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        next_day = midnight + timedelta(days=1)
        first = midnight.replace(day=1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        return cls(
            day=now.strftime("%Y%m%d"),
            month=now.strftime("%Y%m"),
            day_left_s=max(1, int((next_day - now).total_seconds())),
            month_left_s=max(1, int((next_month - now).total_seconds())),
        )

    def month_bounds(self) -> tuple[datetime, datetime]:
        """The calendar month (UTC) as ``[start, end)``."""
        start = datetime.strptime(self.month, "%Y%m").replace(tzinfo=UTC)
        return start, (start + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A store's answer: allowed or the limit hit, and the counters after the decision."""

    allowed: bool
    hit: str
    window_id: str
    requests: int
    tokens: int
    window_left_ms: int
    retry_ms: int
    tokens_today: int
    spent_micro: int


@dataclass(frozen=True, slots=True)
class Allowance:
    """What one request may use in all, counting its own reservation; ``None``: no limit."""

    budget_micro: int | None = None
    tokens: int | None = None

    @classmethod
    def left(cls, limits: Limits, outcome: Outcome, demand: Demand) -> Allowance:
        """From a store's answer, which already counts ``demand``."""
        budget = None
        if limits.budget_micro is not None:
            budget = limits.budget_micro - outcome.spent_micro + demand.cost_micro
        tokens = [
            limit - used + demand.tokens
            for limit, used in (
                (limits.tpm, outcome.tokens),
                (limits.tokens_per_day, outcome.tokens_today),
            )
            if limit is not None
        ]
        return cls(budget, min(tokens) if tokens else None)


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a request holds until it is settled with its real usage."""

    key_id: str
    store: StoreName
    window_id: str
    period: Period
    demand: Demand
    headers: dict[str, str]
    allowance: Allowance = Allowance()  # for a stream that runs past its reservation


@dataclass(frozen=True, slots=True)
class Settlement:
    """Real minus reserved usage for one reservation."""

    reservation: Reservation
    token_delta: int
    cost_delta_micro: int

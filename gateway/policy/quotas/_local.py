"""Per-process counters used while Redis is unreachable (``on_redis_error: open``).

Same rules as the Redis script, applied to a share of each key's limits (``fraction``), because
every process counts on its own. Spend is not known here, so budgets are not enforced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.policy.quotas._types import WINDOW_MS, Demand, Limits, Outcome, Period, Settlement

__all__ = ["LocalQuotaStore"]


@dataclass(slots=True)
class _Window:
    window_id: str
    ends_at: float
    requests: int = 0
    tokens: int = 0


class LocalQuotaStore:
    def __init__(self, *, fraction: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._fraction = fraction
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._days: dict[tuple[str, str], int] = {}
        self._day = ""

    def _share(self, limit: int | None) -> int:
        return 0 if limit is None else max(1, math.floor(limit * self._fraction))

    def _window(self, key_id: str, window_id: str) -> _Window:
        now = self._clock()
        window = self._windows.get(key_id)
        if window is None or window.ends_at <= now:
            if len(self._windows) > 10_000:
                self._windows = {k: w for k, w in self._windows.items() if w.ends_at > now}
            window = _Window(window_id, now + WINDOW_MS / 1000)
            self._windows[key_id] = window
        return window

    async def reserve(
        self, key_id: str, window_id: str, limits: Limits, demand: Demand, period: Period
    ) -> Outcome:
        if period.day != self._day:
            self._days.clear()
            self._day = period.day
        window = self._window(key_id, window_id)
        left = max(0, int((window.ends_at - self._clock()) * 1000))
        today = self._days.get((key_id, period.day), 0)
        rpm, tpm, per_day = (
            self._share(limits.rpm),
            self._share(limits.tpm),
            self._share(limits.tokens_per_day),
        )
        hit, retry = "", 0
        if rpm and window.requests + 1 > rpm:
            hit, retry = "rpm", left
        elif tpm and window.tokens + demand.tokens > tpm:
            hit, retry = "tpm", left
        elif per_day and today + demand.tokens > per_day:
            hit, retry = "tokens_per_day", period.day_left_s * 1000
        if not hit:
            window.requests += 1
            window.tokens += demand.tokens
            today += demand.tokens
            self._days[(key_id, period.day)] = today
        return Outcome(
            allowed=not hit,
            hit=hit,
            window_id=window.window_id,
            requests=window.requests,
            tokens=window.tokens,
            window_left_ms=left,
            retry_ms=retry,
            tokens_today=today,
            spent_micro=0,
        )

    async def settle(self, settlements: Sequence[Settlement]) -> None:
        for item in settlements:
            held = item.reservation
            window = self._windows.get(held.key_id)
            if window is not None and window.window_id == held.window_id:
                window.tokens = max(0, window.tokens + item.token_delta)
            day_key = (held.key_id, held.period.day)
            if day_key in self._days:
                self._days[day_key] = max(0, self._days[day_key] + item.token_delta)

    def effective(self, limits: Limits) -> Limits:
        """The limits this process applies, for the response headers."""
        return Limits(
            rpm=self._share(limits.rpm) or None,
            tpm=self._share(limits.tpm) or None,
            tokens_per_day=self._share(limits.tokens_per_day) or None,
            budget_micro=None,
        )

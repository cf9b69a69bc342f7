"""Where quota counters live: Redis (shared by every process) or this process (fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from gateway.policy.quotas._lane import LuaScript, RedisLane
from gateway.policy.quotas._types import WINDOW_MS, Demand, Limits, Outcome, Period, Settlement

__all__ = ["QuotaStore", "RedisQuotaStore"]

_SCRIPTS = Path(__file__).parent
# Settlements only correct a reservation's estimate: they may wait this long for a
# reservation's write to ride along with (see ``RedisLane``).
SETTLE_DEFER_S = 0.005


class QuotaStore(Protocol):
    async def reserve(
        self, key_id: str, window_id: str, limits: Limits, demand: Demand, period: Period
    ) -> Outcome:
        """Check every limit and, when all allow it, count the demand; atomically."""

    async def settle(self, settlements: Sequence[Settlement]) -> None:
        """Apply real-minus-reserved differences."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisQuotaStore:
    """Counters in Redis: one script per reservation, one write per batch of settlements, over
    the process's pipelined ``RedisLane`` (concurrent requests share writes).

    Keys carry the API key id in a hash tag so that a key's counters share a cluster slot.
    """

    def __init__(self, redis: RedisLane, *, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._reserve = LuaScript((_SCRIPTS / "reserve.lua").read_text())
        self._settle = LuaScript((_SCRIPTS / "settle.lua").read_text())

    def _keys(self, key_id: str, period: Period) -> list[str]:
        base = f"{self._prefix}quota:{{{key_id}}}"
        return [f"{base}:minute", f"{base}:day:{period.day}", f"{base}:month:{period.month}"]

    async def reserve(
        self,
        key_id: str,
        window_id: str,
        limits: Limits,
        demand: Demand,
        period: Period,
        *,
        seed: bool = False,
    ) -> Outcome:
        """``seed``: answer ``hit="unseeded"`` (counting nothing) when a budget applies and the
        month's spend counter is missing, so that the caller can ``seed_month`` first."""
        args: list[str | int] = [
            window_id,
            limits.rpm or 0,
            limits.tpm or 0,
            limits.tokens_per_day or 0,
            -1 if limits.budget_micro is None else limits.budget_micro,
            demand.tokens,
            demand.cost_micro,
            period.day_left_s,
            period.month_left_s,
            WINDOW_MS,
            int(seed),
        ]
        raw = await self._redis.run(self._reserve, self._keys(key_id, period), args)
        allowed, hit, wid, requests, tokens, left, retry, today, spent = raw
        return Outcome(
            allowed=bool(allowed),
            hit=_text(hit),
            window_id=_text(wid),
            requests=int(requests),
            tokens=int(tokens),
            window_left_ms=int(left),
            retry_ms=int(retry),
            tokens_today=int(today),
            spent_micro=int(spent),
        )

    async def seed_month(self, key_id: str, period: Period, spent_micro: int) -> bool:
        """Set the month's spend counter unless it exists (SET NX: one seed wins a race)."""
        month = self._keys(key_id, period)[2]
        ttl = period.month_left_s + 86400  # as reserve.lua sets it
        return await self._redis.call("SET", month, spent_micro, "NX", "EX", ttl) is not None

    async def settle(self, settlements: Sequence[Settlement]) -> None:
        await self._redis.run_many(
            self._settle,
            [
                (
                    self._keys(item.reservation.key_id, item.reservation.period),
                    [item.reservation.window_id, item.token_delta, item.cost_delta_micro],
                )
                for item in settlements
            ],
            defer_s=SETTLE_DEFER_S,
        )

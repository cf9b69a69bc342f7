"""The quota step: reserve before the upstream call, settle with the real usage after it."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from redis.exceptions import RedisError

from configs import QuotaSettings
from gateway.platform.errors import ServiceUnavailableError
from gateway.platform.ids import unique_hex
from gateway.platform.prices import Price, PriceBook
from gateway.policy.auth import Principal
from gateway.policy.quotas._headers import denial, rate_limit_headers
from gateway.policy.quotas._lane import RedisLane
from gateway.policy.quotas._local import LocalQuotaStore
from gateway.policy.quotas._metrics import DECISIONS, REDIS_AVAILABLE, REDIS_ERRORS, SPEND_SEEDS
from gateway.policy.quotas._settler import Settler
from gateway.policy.quotas._store import RedisQuotaStore
from gateway.policy.quotas._types import (
    Allowance,
    Demand,
    Limits,
    Outcome,
    Period,
    Reservation,
    Settlement,
    StoreName,
)

__all__ = ["QuotaService", "SpendSource"]

_log = logging.getLogger(__name__)


class SpendSource(Protocol):
    """Where a lost monthly spend counter is seeded from (``gateway.policy.usage.SpendLedger``)."""

    async def spent_micro(self, key_id: str, start: datetime, end: datetime) -> int:
        """Micro-USD spent in ``[start, end)``; ``ServiceUnavailableError`` when unknown."""
        ...


_UNLIMITED = Limits()


def limits_of(principal: Principal) -> Limits:
    budget = principal.monthly_budget_usd
    return Limits(
        rpm=principal.rpm,
        tpm=principal.tpm,
        tokens_per_day=principal.tokens_per_day,
        budget_micro=None if budget is None else round(budget * 1_000_000),
    )


class QuotaService:
    """Checks and reserves a request's demand in one Redis script call; settles off the path.

    While Redis fails, ``on_redis_error`` decides: ``open`` counts in this process against a
    share of each key's limits, ``closed`` answers 503. One request per ``redis_retry_s`` tries
    Redis again, so recovery needs nobody.

    With a ``spend`` source, a month spend counter that Redis lost (restart without
    persistence, flush) is seeded from the usage ledger by the first request of the key that
    finds it missing: one Postgres query per key and loss, never one per request.
    """

    def __init__(
        self,
        *,
        redis: RedisLane,
        settings: QuotaSettings,
        key_prefix: str,
        prices: PriceBook,
        spend: SpendSource | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._prices = prices
        self._spend = spend
        self._clock = clock
        self._redis = RedisQuotaStore(redis, key_prefix=key_prefix)
        self._local = LocalQuotaStore(fraction=settings.fallback_fraction, clock=clock)
        self._settler = Settler({"redis": self._redis.settle, "local": self._local.settle})
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._period_second = -1
        self._period = Period.at(datetime.now(UTC))
        REDIS_AVAILABLE.set(1)

    @property
    def redis_available(self) -> bool:
        return self._down_since is None

    def start(self) -> None:
        self._settler.start()

    async def close(self) -> None:
        await self._settler.close()

    async def drain(self) -> None:
        """Apply queued settlements now (used by tests and shutdown)."""
        await self._settler.drain()

    def demand(
        self, principal: Principal, *, model: str, prompt_tokens: int, max_tokens: int | None
    ) -> Demand:
        completion = self._settings.default_completion_tokens if max_tokens is None else max_tokens
        cost = self._prices.cost_usd(model, None, prompt_tokens, completion)
        return Demand(tokens=prompt_tokens + completion, cost_micro=math.ceil(cost * 1_000_000))

    async def reserve(
        self,
        principal: Principal,
        *,
        model: str,
        prompt_tokens: int,
        max_tokens: int | None = None,
    ) -> Reservation:
        """Reserve or raise: ``QuotaExceededError`` (429), ``InvalidRequestError`` (400) when
        the request alone exceeds a limit, ``ServiceUnavailableError`` (503) fail-closed."""
        demand = self.demand(
            principal, model=model, prompt_tokens=prompt_tokens, max_tokens=max_tokens
        )
        period = self._current_period()
        if not self._settings.enabled:
            return Reservation(principal.key_id, "none", "", period, demand, {})
        limits = limits_of(principal)
        if limits == _UNLIMITED:
            # Nothing to check or count: no Redis round trip on this key's requests. (A limit
            # added later counts from then on; a budget seeds its month from the ledger.)
            DECISIONS.labels("none", "unlimited").inc()
            return Reservation(principal.key_id, "none", "", period, demand, {})
        window_id = unique_hex()
        name: StoreName
        store_limits, name = limits, "redis"
        outcome = await self._reserve_in_redis(principal.key_id, window_id, limits, demand, period)
        if outcome is None:
            if self._settings.on_redis_error == "closed":
                DECISIONS.labels("none", "unavailable").inc()
                raise ServiceUnavailableError(
                    "quota store (Redis) is unavailable; try again shortly",
                    code="quota_unavailable",
                    headers={"retry-after": str(math.ceil(self._settings.redis_retry_s))},
                )
            store_limits, name = self._local.effective(limits), "local"
            outcome = await self._local.reserve(principal.key_id, window_id, limits, demand, period)
        headers = rate_limit_headers(store_limits, outcome)
        DECISIONS.labels(name, "allowed" if outcome.allowed else outcome.hit).inc()
        if not outcome.allowed:
            raise denial(principal.name, store_limits, demand, outcome, headers)
        allowance = Allowance.left(store_limits, outcome, demand)
        return Reservation(
            principal.key_id, name, outcome.window_id, period, demand, headers, allowance
        )

    def price(self, model: str, deployment: str | None) -> Price:
        """What the deployment (else the model alias) charges per token."""
        return self._prices.price(model, deployment)

    def settle(
        self,
        reservation: Reservation,
        *,
        model: str,
        deployment: str | None,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> None:
        """Replace the estimate with the real usage; never blocks (applied in the background)."""
        if reservation.store == "none":
            return
        cost = self._prices.cost_usd(model, deployment, prompt_tokens, completion_tokens)
        held = reservation.demand
        token_delta = prompt_tokens + completion_tokens - held.tokens
        cost_delta = round(cost * 1_000_000) - held.cost_micro
        if token_delta or cost_delta:
            self._settler.submit(Settlement(reservation, token_delta, cost_delta))

    async def _reserve_in_redis(
        self, key_id: str, window_id: str, limits: Limits, demand: Demand, period: Period
    ) -> Outcome | None:
        """The Redis store's answer, or ``None`` while Redis is (or just went) unreachable."""
        if not self._use_redis():
            return None
        try:
            outcome = await self._redis.reserve(
                key_id, window_id, limits, demand, period, seed=self._spend is not None
            )
            if outcome.hit == "unseeded":
                await self._seed_month(key_id, period)
                outcome = await self._redis.reserve(key_id, window_id, limits, demand, period)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        self._recovered()
        return outcome

    async def _seed_month(self, key_id: str, period: Period) -> None:
        """The key's spend this month from the ledger into Redis (unless another won the race).

        When the ledger fails: ``closed`` answers 503; ``open`` counts from zero (logged).
        """
        assert self._spend is not None
        start, end = period.month_bounds()
        try:
            spent = await self._spend.spent_micro(key_id, start, end)
        except ServiceUnavailableError as exc:
            SPEND_SEEDS.labels("failed").inc()
            if self._settings.on_redis_error == "closed":
                raise
            _log.error(
                "monthly spend not reseeded: the usage ledger failed; counting from zero",
                extra={"key_id": key_id, "month": period.month, "error": str(exc)},
            )
            return
        won = await self._redis.seed_month(key_id, period, spent)
        SPEND_SEEDS.labels("seeded" if won else "raced").inc()
        if won and spent:
            _log.warning(
                "monthly spend reseeded from the usage ledger (Redis had lost it)",
                extra={"key_id": key_id, "month": period.month, "spent_usd": spent / 1e6},
            )

    def _current_period(self) -> Period:
        now = time.time()
        if int(now) != self._period_second:
            self._period_second = int(now)
            self._period = Period.at(datetime.fromtimestamp(now, UTC))
        return self._period

    def _use_redis(self) -> bool:
        if self._down_since is None:
            return True
        now = self._clock()
        if now < self._retry_at:
            return False
        self._retry_at = now + self._settings.redis_retry_s  # one probe per interval
        return True

    def _failed(self, exc: BaseException) -> None:
        REDIS_ERRORS.inc()
        now = self._clock()
        self._retry_at = now + self._settings.redis_retry_s
        if self._down_since is None:
            self._down_since = now
            REDIS_AVAILABLE.set(0)
            _log.error(
                "quota store unreachable: Redis failed; serving %s",
                "under per-process fallback limits"
                if self._settings.on_redis_error == "open"
                else "503 (fail-closed)",
                extra={"error": str(exc), "mode": self._settings.on_redis_error},
            )

    def _recovered(self) -> None:
        if self._down_since is not None:
            _log.warning(
                "quota store recovered: Redis answers again",
                extra={"down_s": round(self._clock() - self._down_since, 3)},
            )
            self._down_since = None
            REDIS_AVAILABLE.set(1)

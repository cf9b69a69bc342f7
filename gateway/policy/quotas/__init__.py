"""Quotas and budgets: per-key rpm, tpm, tokens per day and monthly spend, counted in Redis."""

from __future__ import annotations

from gateway.policy.quotas._estimate import estimate_prompt_tokens
from gateway.policy.quotas._headers import QuotaExceededError, format_reset, rate_limit_headers
from gateway.policy.quotas._hook import QuotaHook
from gateway.policy.quotas._lane import LuaScript, RedisLane
from gateway.policy.quotas._local import LocalQuotaStore
from gateway.policy.quotas._meter import StreamMeter
from gateway.policy.quotas._service import QuotaService, SpendSource, limits_of
from gateway.policy.quotas._store import QuotaStore, RedisQuotaStore
from gateway.policy.quotas._types import Demand, Limits, Outcome, Period, Reservation, Settlement

__all__ = [
    "Demand",
    "Limits",
    "LocalQuotaStore",
    "LuaScript",
    "Outcome",
    "Period",
    "QuotaExceededError",
    "QuotaHook",
    "QuotaService",
    "QuotaStore",
    "RedisLane",
    "RedisQuotaStore",
    "Reservation",
    "Settlement",
    "SpendSource",
    "StreamMeter",
    "estimate_prompt_tokens",
    "format_reset",
    "limits_of",
    "rate_limit_headers",
]

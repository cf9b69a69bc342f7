"""OpenAI's rate-limit headers and the 429 that names the limit hit."""

from __future__ import annotations

import math

from gateway.platform.errors import InvalidRequestError, RateLimitError
from gateway.policy.quotas._types import Demand, Limits, Outcome

__all__ = ["QuotaExceededError", "denial", "format_reset", "rate_limit_headers"]

_NAMES = {
    "rpm": "requests per minute (rpm)",
    "tpm": "tokens per minute (tpm)",
    "tokens_per_day": "tokens per day",
    "budget": "monthly budget",
}


class QuotaExceededError(RateLimitError):
    """429: a limit of the key is used up for now; ``limit`` names it."""

    def __init__(self, message: str, *, limit: str, headers: dict[str, str]) -> None:
        code = "insufficient_quota" if limit == "budget" else "rate_limit_exceeded"
        super().__init__(message, code=code, headers=headers)
        self.limit = limit


def format_reset(ms: int) -> str:
    """Durations as OpenAI writes them: ``20ms``, ``1.5s``, ``6m0s``."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    minutes, seconds = divmod(ms / 1000, 60)
    text = f"{round(seconds, 3):g}s"
    return f"{int(minutes)}m{text}" if minutes else text


def rate_limit_headers(limits: Limits, outcome: Outcome) -> dict[str, str]:
    headers: dict[str, str] = {}
    reset = format_reset(outcome.window_left_ms)
    if limits.rpm is not None:
        headers["x-ratelimit-limit-requests"] = str(limits.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(0, limits.rpm - outcome.requests))
        headers["x-ratelimit-reset-requests"] = reset
    if limits.tpm is not None:
        headers["x-ratelimit-limit-tokens"] = str(limits.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, limits.tpm - outcome.tokens))
        headers["x-ratelimit-reset-tokens"] = reset
    return headers


def _usd(micro: int) -> str:
    return f"${micro / 1e6:,.4f}"


def denial(
    key_name: str, limits: Limits, demand: Demand, outcome: Outcome, headers: dict[str, str]
) -> Exception:
    """The error for a refused reservation: 400 when the request alone exceeds the limit
    (retrying cannot help), else 429 with ``Retry-After``."""
    hit = outcome.hit
    if hit == "rpm":
        detail = f"limit {limits.rpm}, used {outcome.requests}"
    elif hit == "budget":
        assert limits.budget_micro is not None
        if demand.cost_micro > limits.budget_micro:
            return InvalidRequestError(
                f"this request may cost up to {_usd(demand.cost_micro)}, more than the key's "
                f"whole monthly budget of {_usd(limits.budget_micro)}; lower max_tokens",
                param="max_tokens",
                code="request_exceeds_budget",
            )
        detail = (
            f"budget {_usd(limits.budget_micro)}, spent or reserved {_usd(outcome.spent_micro)}, "
            f"this request may cost up to {_usd(demand.cost_micro)}"
        )
    else:
        limit = limits.tpm if hit == "tpm" else limits.tokens_per_day
        assert limit is not None
        if demand.tokens > limit:
            return InvalidRequestError(
                f"this request needs up to {demand.tokens} tokens (prompt estimate + max_tokens), "
                f"more than the key's {_NAMES[hit]} limit of {limit}; lower max_tokens",
                param="max_tokens",
                code="request_exceeds_limit",
            )
        used = outcome.tokens if hit == "tpm" else outcome.tokens_today
        detail = f"limit {limit}, used {used}, requested {demand.tokens}"
    retry_s = max(1, math.ceil(outcome.retry_ms / 1000))
    message = (
        f"Rate limit reached for {_NAMES[hit]} on API key '{key_name}': {detail}. "
        f"Retry after {retry_s}s."
    )
    headers = {**headers, "retry-after": str(retry_s), "x-ratelimit-limit-hit": hit}
    return QuotaExceededError(message, limit=hit, headers=headers)

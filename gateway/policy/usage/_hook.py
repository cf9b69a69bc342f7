"""The USAGE step of the pipeline: one ledger row per authenticated request, off the hot path."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from gateway.platform.prices import PriceBook
from gateway.policy.pipeline import Call, Hook, Stage
from gateway.policy.usage._metrics import SPEND
from gateway.policy.usage._record import UsageRecord
from gateway.policy.usage._recorder import UsageRecorder

__all__ = ["UsageHook"]


class UsageHook(Hook):
    """An observer: ``record`` only appends to the recorder's buffer; what was charged also
    goes to ``ragway_spend_usd_total``."""

    name: ClassVar[str] = "usage"
    stage: ClassVar[Stage] = Stage.USAGE
    policy: ClassVar[bool] = False

    def __init__(self, recorder: UsageRecorder, prices: PriceBook) -> None:
        self._recorder = recorder
        self._prices = prices
        self._spend: dict[tuple[str, str], Any] = {}  # the counter's children, by labels

    async def on_end(self, call: Call) -> None:
        if call.principal is None:
            return  # refused before a key was known: nobody to charge
        deployment = call.deployment.name if call.deployment is not None else None
        model = call.model or ""
        usage = call.usage
        cost_usd = self._prices.cost_usd(
            model, deployment, usage.prompt_tokens, usage.completion_tokens
        )
        if cost_usd:
            alias = call.route.alias if call.route is not None else "unknown"
            self._spent(alias, deployment or "none").inc(cost_usd)
        self._recorder.record(
            UsageRecord(
                request_id=call.request_id,
                key_id=call.principal.key_id,
                model=model,
                deployment=deployment,
                endpoint=call.endpoint,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=cost_usd,
                latency_ms=(time.perf_counter() - call.started) * 1000,
                status=call.status,
                streamed=call.stream,
                created_at=datetime.now(UTC),
                tokens_estimated=usage.estimated,
            )
        )

    def _spent(self, model: str, deployment: str) -> Any:
        child = self._spend.get((model, deployment))
        if child is None:
            child = self._spend[model, deployment] = SPEND.labels(model, deployment)
        return child

"""The USAGE step of the pipeline: one ledger row per authenticated request, off the hot path."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import ClassVar

from gateway.platform.prices import PriceBook
from gateway.policy.pipeline import Call, Hook, Stage
from gateway.policy.usage._record import UsageRecord
from gateway.policy.usage._recorder import UsageRecorder

__all__ = ["UsageHook"]


class UsageHook(Hook):
    """An observer: ``record`` only appends to the recorder's buffer."""

    name: ClassVar[str] = "usage"
    stage: ClassVar[Stage] = Stage.USAGE
    policy: ClassVar[bool] = False

    def __init__(self, recorder: UsageRecorder, prices: PriceBook) -> None:
        self._recorder = recorder
        self._prices = prices

    async def on_end(self, call: Call) -> None:
        if call.principal is None:
            return  # refused before a key was known: nobody to charge
        deployment = call.deployment.name if call.deployment is not None else None
        model = call.model or ""
        usage = call.usage
        self._recorder.record(
            UsageRecord(
                request_id=call.request_id,
                key_id=call.principal.key_id,
                model=model,
                deployment=deployment,
                endpoint=call.endpoint,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=self._prices.cost_usd(
                    model, deployment, usage.prompt_tokens, usage.completion_tokens
                ),
                latency_ms=(time.perf_counter() - call.started) * 1000,
                status=call.status,
                streamed=call.stream,
                created_at=datetime.now(UTC),
                tokens_estimated=usage.estimated,
            )
        )

"""The QUOTA step of the pipeline: reserve before the upstream call, settle at the end."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.errors import AuthenticationError
from gateway.pipeline import Call, Hook, Stage
from gateway.quotas._estimate import estimate_prompt_tokens
from gateway.quotas._service import QuotaService
from gateway.quotas._types import Reservation

__all__ = ["QuotaHook"]


def _max_tokens(body: dict[str, Any]) -> int | None:
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if isinstance(value, int) and value >= 0:
            return value
    return None


class QuotaHook(Hook):
    """One EVALSHA per request; the rate-limit headers go on the response (streams too)."""

    name: ClassVar[str] = "quota"
    stage: ClassVar[Stage] = Stage.QUOTA

    def __init__(self, quotas: QuotaService, *, chars_per_token: float) -> None:
        self._quotas = quotas
        self._chars_per_token = chars_per_token

    async def on_request(self, call: Call) -> None:
        if call.principal is None:
            raise AuthenticationError("this request was not authenticated")
        answer = 0 if call.endpoint == "embeddings" else _max_tokens(call.body)
        reservation = await self._quotas.reserve(
            call.principal,
            model=call.model or "",
            prompt_tokens=estimate_prompt_tokens(call.body, chars_per_token=self._chars_per_token),
            max_tokens=answer,
        )
        call.state[self.name] = reservation
        call.response_headers.update(reservation.headers)

    async def on_end(self, call: Call) -> None:
        reservation: Reservation | None = call.state.get(self.name)
        if reservation is None:
            return
        usage = call.usage
        if call.status < 400 and not (usage.prompt_tokens or usage.completion_tokens):
            return  # served, but the upstream reported no usage: keep the reservation
        self._quotas.settle(
            reservation,
            model=call.model or "",
            deployment=call.deployment.name if call.deployment is not None else None,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )

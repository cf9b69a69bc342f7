"""The QUOTA step of the pipeline: reserve before the upstream call, settle at the end.

Every stream is counted as it passes. When the key's monthly budget (or, for a stream
without ``max_tokens``, its tpm / tokens-per-day allowance) is used up, the stream ends as
OpenAI ends one at ``max_tokens``: that chunk is the last, with ``finish_reason: "length"``.
A stream cut short (client gone: 499; upstream broke off: 502) is charged what was sent,
marked estimated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from gateway.platform.errors import AuthenticationError
from gateway.platform.prices import Price
from gateway.policy.pipeline import Call, Hook, Stage
from gateway.policy.quotas._estimate import estimate_prompt_tokens
from gateway.policy.quotas._meter import StreamMeter
from gateway.policy.quotas._metrics import STREAMS_ENDED
from gateway.policy.quotas._service import QuotaService
from gateway.policy.quotas._types import Reservation

__all__ = ["QuotaHook"]

_log = logging.getLogger(__name__)
_UNPRICED = Price()  # a stream without a budget is counted in tokens only


@dataclass(slots=True)
class _Stream:
    """A stream being counted (its state in the call, next to the ``Reservation``).

    The meter starts at the first chunk: its price is the deployment that serves. ``ended``:
    cut at a limit, counted and settled then.
    """

    prompt_tokens: int
    tokens: int | None  # the tpm / per-day allowance of a stream without max_tokens
    budget_micro: int | None
    meter: StreamMeter | None = None
    ended: bool = False


def _index_order(index: Any) -> tuple[int, Any]:
    return (0, index) if isinstance(index, int) else (1, str(index))


def _count_sent(call: Call, meter: StreamMeter) -> None:
    """A stream that sent text but ended without the upstream's final usage report (the client
    went away, the upstream broke off, or it reports none) is charged what was sent: the
    prompt as reported or estimated, the answer counted as it passed."""
    usage = call.usage
    if meter.completion_tokens == 0:
        return  # no answer was sent
    if call.status < 400 and usage.completion_tokens:
        return  # it ran to the end: the upstream's own count
    usage.prompt_tokens = meter.prompt_tokens
    usage.completion_tokens = meter.completion_tokens
    usage.estimated = meter.estimated


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
        answer = _max_tokens(call.body) if call.capabilities.answer_tokens else 0
        prompt = estimate_prompt_tokens(call.body, chars_per_token=self._chars_per_token)
        reservation = await self._quotas.reserve(
            call.principal, model=call.model or "", prompt_tokens=prompt, max_tokens=answer
        )
        call.put(reservation)
        call.response_headers.update(reservation.headers)
        if call.stream:  # every stream is counted: one cut short is charged what it sent
            allowance = reservation.allowance
            tokens = allowance.tokens if answer is None else None  # else bounded by max_tokens
            call.put(_Stream(prompt, tokens, allowance.budget_micro))

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        return {} if call.find(Reservation) is not None else None

    def wants_chunks(self, call: Call) -> bool:
        stream = call.find(_Stream)
        return stream is not None and not stream.ended

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        stream = call.find(_Stream)
        if stream is None or stream.ended:
            return
        meter = stream.meter
        if meter is None:
            meter = stream.meter = self._meter(call, stream)
        limit = meter.add(chunk)
        if limit:
            stream.ended = True
            self._end_stream(call, chunk, meter, limit)

    async def on_end(self, call: Call) -> None:
        reservation = call.find(Reservation)
        if reservation is None:
            return
        usage = call.usage
        stream = call.find(_Stream)
        if stream is not None and stream.meter is not None and not stream.ended:
            _count_sent(call, stream.meter)
        if call.status < 400 and not (usage.prompt_tokens or usage.completion_tokens):
            return  # served, but the upstream reported no usage: keep the reservation
        self._quotas.settle(
            reservation,
            model=call.model or "",
            deployment=call.deployment.name if call.deployment is not None else None,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )

    def _meter(self, call: Call, stream: _Stream) -> StreamMeter:
        budget = stream.budget_micro
        price = _UNPRICED
        if budget is not None:
            deployment = call.deployment.name if call.deployment is not None else None
            price = self._quotas.price(call.model or "", deployment)
        return StreamMeter(
            prompt_tokens=stream.prompt_tokens,
            price=price,
            chars_per_token=self._chars_per_token,
            budget_micro=budget,
            tokens=stream.tokens,
        )

    def _end_stream(
        self, call: Call, chunk: dict[str, Any], meter: StreamMeter, limit: str
    ) -> None:
        """``chunk`` becomes the last: ``finish_reason: "length"``, the counted usage."""
        call.end_stream = True
        unfinished = meter.unfinished_choices()
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("finish_reason") is None:
                choice["finish_reason"] = "length"
                unfinished.discard(choice.get("index", 0))
        base: dict[str, Any] = {
            k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk
        }
        # choices this chunk did not carry (n > 1), in order (indices are ints from JSON)
        for index in sorted(unfinished, key=_index_order):
            choice = {"index": index, "delta": {}, "logprobs": None, "finish_reason": "length"}
            call.trailing_chunks.append({**base, "choices": [choice]})
        usage = call.usage  # settled and recorded: the upstream's final report is not coming
        usage.prompt_tokens = meter.prompt_tokens
        usage.completion_tokens = meter.completion_tokens
        usage.estimated = meter.estimated
        options = call.body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            total = usage.prompt_tokens + usage.completion_tokens
            counted = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": total,
            }
            call.trailing_chunks.append({**base, "choices": [], "usage": counted})
        STREAMS_ENDED.labels(limit).inc()
        _log.info(
            "stream ended: the key's %s allowance is used up",
            limit,
            extra={"completion_tokens": usage.completion_tokens},
        )

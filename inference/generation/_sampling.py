"""Sampling parameters of one request, and choosing the next token from the model's logits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SamplingParams", "sample_next"]


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How one completion is drawn. ``temperature == 0`` is greedy decoding."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False
    logit_bias: Mapping[int, float] = field(default_factory=dict)


def sample_next(logits: Any, params: SamplingParams, generator: Any) -> int:
    """The next token id from a 1-D logits tensor, drawn with ``generator`` (a torch.Generator).

    Bias, then temperature, then nucleus (top-p) filtering, as OpenAI documents the order.
    """
    import torch

    scores = logits.float()
    if params.logit_bias:
        ids = torch.tensor(list(params.logit_bias), device=scores.device)
        bias = torch.tensor(list(params.logit_bias.values()), device=scores.device)
        scores = scores.index_add(0, ids, bias)
    if params.temperature == 0:
        return int(torch.argmax(scores).item())
    probs = torch.softmax(scores / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        # keep the smallest set whose mass reaches top_p (the first token always stays)
        drop = cumulative - sorted_probs >= params.top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        choice = torch.multinomial(sorted_probs.cpu(), 1, generator=generator)
        return int(order[choice.to(order.device)].item())
    return int(torch.multinomial(probs.cpu(), 1, generator=generator).item())

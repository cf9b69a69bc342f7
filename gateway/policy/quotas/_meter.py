"""A stream's running usage, against what its key had left when the stream was admitted.

A reservation holds the request's estimate, which a stream may run past. The meter counts the
answer as chunks pass (the upstream's usage when a chunk carries it, else characters over
``chars_per_token``) so that the quota step can end the stream once the key's monthly budget,
or for a stream without ``max_tokens`` its tpm / tokens-per-day allowance, is used up. Every
stream is settled, one cut short before the upstream's usage report with what reached the client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.platform.prices import Price
from gateway.policy.quotas._estimate import text_chars

__all__ = ["StreamMeter"]


def _answer_chars(chunk: Mapping[str, Any], finished: dict[Any, bool]) -> int:
    """Characters of the answer in one chunk: every string of each choice's ``delta`` but the
    role (content, reasoning, tool calls) or its ``text`` (completions). Runs per chunk.

    ``finished`` is kept up to date on the way: each choice index seen, and whether it has had
    its ``finish_reason`` (with ``n`` > 1 a chunk usually carries one choice of several)."""
    chars = 0
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        finished[choice.get("index", 0)] = choice.get("finish_reason") is not None
        delta = choice.get("delta")
        if delta:
            for key, value in delta.items():
                if key == "role" or value is None:
                    continue
                chars += len(value) if type(value) is str else text_chars(value)
        text = choice.get("text")
        if text:
            chars += text_chars(text)
    return chars


@dataclass(slots=True)
class StreamMeter:
    """Counts one stream; ``add`` says which allowance the chunk used up, if any.

    Tokens are the upstream's last reported count (a chunk that carries ``usage``, as vLLM's
    continuous usage stats do) plus an estimate of the answer streamed since; with no report,
    the estimate alone.
    """

    prompt_tokens: int  # the estimate, until the upstream reports usage
    price: Price
    chars_per_token: float
    budget_micro: int | None
    tokens: int | None
    _chars: int = 0  # answer characters since the last reported count
    _reported: int | None = None  # the last reported completion tokens
    finished: dict[Any, bool] = field(default_factory=dict)  # choice index: finish_reason seen

    @property
    def completion_tokens(self) -> int:
        """The last reported count plus the estimate of the answer streamed since."""
        return (self._reported or 0) + math.ceil(self._chars / self.chars_per_token)

    @property
    def estimated(self) -> bool:
        """Whether ``completion_tokens`` holds an estimate (text came after the last report,
        or no report came at all)."""
        return self._reported is None or self._chars > 0

    def unfinished_choices(self) -> set[Any]:
        """Indices of the choices still open; choice 0 when no choice has been seen at all."""
        if not self.finished:
            return {0}
        return {index for index, done in self.finished.items() if not done}

    def add(self, chunk: Mapping[str, Any]) -> str:
        """Count ``chunk``; ``"budget"`` or ``"tokens"`` when that allowance is used up, or
        ``""``. Runs per chunk: a stream with neither allowance only adds up characters."""
        self._chars += _answer_chars(chunk, self.finished)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if isinstance(prompt, int):
                self.prompt_tokens = prompt
            if isinstance(completion, int):
                self._reported, self._chars = completion, 0
        if self.tokens is None and self.budget_micro is None:
            return ""
        completion_tokens = self.completion_tokens
        if self.tokens is not None and self.prompt_tokens + completion_tokens >= self.tokens:
            return "tokens"
        if self.budget_micro is not None:
            cost = (
                self.prompt_tokens * self.price.input_per_million
                + completion_tokens * self.price.output_per_million
            )  # micro-USD: USD per million tokens is micro-USD per token
            if cost > 0 and cost >= self.budget_micro:
                return "budget"
        return ""

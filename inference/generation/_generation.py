"""One request's generation: a state machine the scheduler advances one token at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from inference.generation._model import CausalModel
from inference.generation._sampling import SamplingParams, sample_next

__all__ = ["FinishReason", "Generation", "GenerationEvent"]

_log = logging.getLogger(__name__)

FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class GenerationEvent:
    """New text (possibly empty) and, on the last event, why generation ended."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason | None = None
    error: BaseException | None = None


class Generation:
    """Turns a prompt into text, one ``step()`` (one token) at a time.

    Text is released as soon as it can no longer change: an incomplete UTF-8 sequence or
    the start of a stop string is held back until the next tokens settle it. ``sink`` gets
    every event; it is called on the scheduler's thread and must not block.
    """

    def __init__(
        self,
        model: CausalModel,
        prompt_ids: Sequence[int],
        params: SamplingParams,
        sink: Callable[[GenerationEvent], None],
    ) -> None:
        self._model = model
        self._prompt = list(prompt_ids)
        self._params = params
        self._sink = sink
        self._generator = model.new_generator(params.seed)
        self._cache: Any = None
        self._next_input: list[int] = self._prompt
        self._output: list[int] = []  # sampled tokens that are text (EOS excluded)
        self._sampled = 0
        self._released = 0  # characters of the decoded text already sent
        self._cancelled = threading.Event()
        self.finish_reason: FinishReason | None = None

    @property
    def prompt_tokens(self) -> int:
        return len(self._prompt)

    def cancel(self) -> None:
        """Stop at the next step (client gone). Safe from any thread."""
        self._cancelled.set()

    def step(self) -> bool:
        """Advance by one token; True once finished (the final event has been sent)."""
        if self.finish_reason is not None:
            return True
        if self._cancelled.is_set():
            return self._finish("cancelled", "")
        try:
            logits, self._cache = self._model.forward(self._next_input, self._cache)
            token = sample_next(logits, self._params, self._generator)
        except Exception as exc:  # noqa: BLE001 - logged and surfaced as this request's 500
            _log.exception("generation step failed", extra={"model": self._model.name})
            self._send("", "error", exc)
            self.finish_reason = "error"
            return True
        self._sampled += 1
        self._next_input = [token]
        if token in self._model.eos_token_ids and not self._params.ignore_eos:
            return self._finish("stop", self._model.decode(self._output)[self._released :])
        self._output.append(token)
        text = self._model.decode(self._output)
        stop_at = self._find_stop(text)
        if stop_at is not None:
            return self._finish("stop", text[self._released : stop_at])
        if self._sampled >= self._params.max_tokens:
            return self._finish("length", text[self._released :])
        safe = self._safe_end(text)
        if safe > self._released:
            self._send(text[self._released : safe])
            self._released = safe
        return False

    def _find_stop(self, text: str) -> int | None:
        stops = self._params.stop
        if not stops:
            return None
        longest = max(len(s) for s in stops)
        window_start = max(0, self._released - longest + 1)
        found = [i for s in stops if (i := text.find(s, window_start)) >= 0]
        return min(found) if found else None

    def _safe_end(self, text: str) -> int:
        """End of the text that is settled: no partial character, no possible stop prefix."""
        end = len(text)
        while end > self._released and text[end - 1] == "\ufffd":
            end -= 1
        for stop in self._params.stop:
            for length in range(min(len(stop) - 1, end - self._released), 0, -1):
                if text[end - length : end] == stop[:length]:
                    end -= length
                    break
        return end

    def _finish(self, reason: FinishReason, text: str) -> bool:
        self.finish_reason = reason
        self._send(text, reason)
        return True

    def _send(
        self, text: str, reason: FinishReason | None = None, error: BaseException | None = None
    ) -> None:
        self._sink(GenerationEvent(text, len(self._prompt), self._sampled, reason, error))

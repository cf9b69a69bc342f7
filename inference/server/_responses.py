"""OpenAI response objects: chat completions, text completions and their stream chunks."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from inference.generation import GenerationEvent

__all__ = ["Completion", "usage"]

Kind = Literal["chat", "text"]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@dataclass
class Completion:
    """Accumulates one response's choices and writes it whole or as stream chunks."""

    kind: Kind
    model: str
    include_usage: bool = False
    id: str = field(default_factory=lambda: secrets.token_hex(12))
    created: int = field(default_factory=lambda: int(time.time()))
    texts: dict[int, str] = field(default_factory=dict)
    finish: dict[int, str] = field(default_factory=dict)
    prompt_tokens: dict[int, int] = field(default_factory=dict)
    completion_tokens: dict[int, int] = field(default_factory=dict)

    def add(self, index: int, event: GenerationEvent) -> None:
        self.texts[index] = self.texts.get(index, "") + event.text
        self.prompt_tokens[index] = event.prompt_tokens
        self.completion_tokens[index] = event.completion_tokens
        if event.finish_reason is not None:
            self.finish[index] = event.finish_reason

    @property
    def usage(self) -> dict[str, int]:
        return usage(sum(self.prompt_tokens.values()), sum(self.completion_tokens.values()))

    def whole(self) -> dict[str, Any]:
        choices = [self._choice(i, self.texts[i], self.finish.get(i)) for i in sorted(self.texts)]
        return {**self._head(chunk=False), "choices": choices, "usage": self.usage}

    def first_chunk(self, index: int) -> dict[str, Any]:
        """Chat streams open each choice with the assistant role, as OpenAI does."""
        delta = {"role": "assistant", "content": ""}
        return self._chunk(
            [{"index": index, "delta": delta, "finish_reason": None, "logprobs": None}]
        )

    def chunk(self, index: int, event: GenerationEvent) -> dict[str, Any]:
        finish = event.finish_reason
        if self.kind == "chat":
            delta = {"content": event.text} if event.text else {}
            choice: dict[str, Any] = {"index": index, "delta": delta}
        else:
            choice = {"index": index, "text": event.text}
        return self._chunk([{**choice, "finish_reason": finish, "logprobs": None}])

    def usage_chunk(self) -> dict[str, Any]:
        return {**self._head(chunk=True), "choices": [], "usage": self.usage}

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        body = {**self._head(chunk=True), "choices": choices}
        if self.include_usage:
            body["usage"] = None
        return body

    def _choice(self, index: int, text: str, finish: str | None) -> dict[str, Any]:
        if self.kind == "chat":
            message = {"role": "assistant", "content": text, "refusal": None}
            return {"index": index, "message": message, "finish_reason": finish, "logprobs": None}
        return {"index": index, "text": text, "finish_reason": finish, "logprobs": None}

    def _head(self, *, chunk: bool) -> dict[str, Any]:
        if self.kind == "chat":
            prefix, obj = "chatcmpl-", "chat.completion.chunk" if chunk else "chat.completion"
        else:
            prefix, obj = "cmpl-", "text_completion"
        return {
            "id": prefix + self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }

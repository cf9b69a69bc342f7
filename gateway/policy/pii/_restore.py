"""Masked values back in the answer: whole responses and streams.

In a stream a placeholder may arrive split over chunks (``<EMAIL_`` then ``ADDRESS_1>``).
``TextRestorer`` holds back only a tail that can still grow into one of this request's
placeholders and releases everything else at once.
"""

from __future__ import annotations

from typing import Any

from gateway.policy.pii._vault import PlaceholderVault
from gateway.policy.pipeline import PiiOutput

__all__ = ["ChunkRestorer", "TextRestorer", "restore_response"]


def restore_response(output: PiiOutput, response: dict[str, Any], vault: PlaceholderVault) -> None:
    """Restore placeholders in a complete response, in place (``output``: where its text is)."""
    if not vault:
        return
    for choice in response.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if output == "text":
            if isinstance(choice.get("text"), str):
                choice["text"] = vault.restore(choice["text"])
            continue
        message = choice.get("message")
        if isinstance(message, dict):
            _restore_message(message, vault)


def _restore_message(message: dict[str, Any], vault: PlaceholderVault) -> None:
    for key in ("content", "refusal"):
        if isinstance(message.get(key), str):
            message[key] = vault.restore(message[key])
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            _restore_function(function, vault)
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        _restore_function(legacy, vault)


def _restore_function(function: dict[str, Any], vault: PlaceholderVault) -> None:
    """Arguments and the name: a tool name the request masked comes back as its placeholder."""
    if isinstance(function.get("arguments"), str):
        function["arguments"] = vault.restore(function["arguments"], json_string=True)
    if isinstance(function.get("name"), str):
        function["name"] = vault.restore(function["name"])


class TextRestorer:
    """Restores one growing text (a choice's content, one tool call's arguments)."""

    def __init__(self, vault: PlaceholderVault, *, json_string: bool = False) -> None:
        self._vault = vault
        self._json = json_string
        self._held = ""

    def feed(self, delta: str) -> str:
        """The part of ``held + delta`` that is safe to send now, restored."""
        text = self._held + delta
        cut = text.rfind("<")
        if (
            cut >= 0
            and len(text) - cut <= self._vault.longest
            and self._vault.is_prefix(text[cut:])
        ):
            self._held = text[cut:]
            text = text[:cut]
        else:
            self._held = ""
        return self._vault.restore(text, json_string=self._json)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self._vault.restore(held, json_string=self._json)

    @property
    def holding(self) -> bool:
        return bool(self._held)


class ChunkRestorer:
    """Restores ``chat.completion.chunk`` / completion chunks in place, one after another.

    Held-back text goes out with the next chunk of the same choice, at the latest with the
    chunk that carries the choice's ``finish_reason``.
    """

    def __init__(self, vault: PlaceholderVault, output: PiiOutput) -> None:
        self._vault = vault
        self._text_only = output == "text"
        self._content: dict[int, TextRestorer] = {}
        self._arguments: dict[tuple[int, int], TextRestorer] = {}

    def __call__(self, chunk: dict[str, Any]) -> None:
        if not self._vault:
            return
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict):
                self._choice(choice)

    def _choice(self, choice: dict[str, Any]) -> None:
        index = int(choice.get("index") or 0)
        done = choice.get("finish_reason") is not None
        if self._text_only:
            choice["text"] = self._text(index, choice.get("text"), done)
            return
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            delta = choice["delta"] = {}
        if "content" in delta or done or self._holding(index):
            text = self._text(index, delta.get("content"), done)
            if text or isinstance(delta.get("content"), str):
                delta["content"] = text
        for call in delta.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                function["name"] = self._vault.restore(function["name"])  # sent whole
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                key = (index, int(call.get("index") or 0))
                restorer = self._arguments.setdefault(
                    key, TextRestorer(self._vault, json_string=True)
                )
                function["arguments"] = restorer.feed(function["arguments"])
        if done:
            self._flush_arguments(index, delta)

    def _holding(self, index: int) -> bool:
        restorer = self._content.get(index)
        return restorer is not None and restorer.holding

    def _text(self, index: int, delta: Any, done: bool) -> str:
        restorer = self._content.setdefault(index, TextRestorer(self._vault))
        text = restorer.feed(delta if isinstance(delta, str) else "")
        return text + restorer.flush() if done else text

    def _flush_arguments(self, index: int, delta: dict[str, Any]) -> None:
        for (choice, call_index), restorer in self._arguments.items():
            if choice != index or not restorer.holding:
                continue
            rest = restorer.flush()
            calls = delta.setdefault("tool_calls", [])
            calls.append({"index": call_index, "function": {"arguments": rest}})

"""What the upstream fakes read out of a request to answer it: the text of a message's content
parts, the last user text (the fakes echo it), a word count (their token count) and the
function a tool-calling turn calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["last_user_text", "text_of", "tool_to_call", "words"]


def text_of(content: Any, kind: str = "text") -> str:
    """A message's text: a plain string, or its parts of type ``kind`` joined by spaces."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == kind)
    return str(content or "")


def last_user_text(messages: list[dict[str, Any]], kind: str = "text") -> str:
    """The text of the last message from the user; empty when there is none."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"), kind)
    return ""


def words(text: str) -> int:
    return max(1, len(text.split()))


def tool_to_call(
    tools: list[dict[str, Any]], choice: Any, name: Callable[[dict[str, Any]], Any]
) -> str | None:
    """The function a tool-calling turn calls: none when no tool is offered or ``tool_choice``
    is ``"none"``, else the one ``tool_choice`` forces, else the first. ``name`` reads a
    function's name from a tool or a forced choice (the two have the same shape)."""
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        return str(name(choice))
    return str(name(tools[0]))

"""A cheap prompt-token estimate: characters of the text a request sends, over a ratio.

Rate limiting needs an upper-bound-ish number before the upstream answers, in microseconds,
not an exact tokenizer count; the reservation is settled with the real count afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["estimate_prompt_tokens", "text_chars"]

_PROMPT_FIELDS = ("messages", "prompt", "input", "tools", "functions")
_PER_MESSAGE = 4


def text_chars(value: Any) -> int:
    """Characters of every string in ``value`` (nested mappings and lists included)."""
    # Runs over every request body: plain loops and concrete types first (decoded JSON is
    # dicts, lists and strings); the Mapping ABC check is the slow, rare fallback.
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        items: Any = value
    elif isinstance(value, dict | Mapping):
        items = value.values()
    else:
        return 0
    total = 0
    for item in items:
        total += len(item) if isinstance(item, str) else text_chars(item)
    return total


def estimate_prompt_tokens(body: Mapping[str, Any], *, chars_per_token: float = 4.0) -> int:
    """Tokens the request's prompt (messages, prompt, input, tool definitions) likely holds."""
    chars = 0
    for field in _PROMPT_FIELDS:
        value = body.get(field)
        if value is not None:
            chars += text_chars(value)
    messages = body.get("messages")
    overhead = _PER_MESSAGE * len(messages) if isinstance(messages, list) else 0
    return math.ceil(chars / chars_per_token) + overhead

"""Reversible placeholders for one request: ``<EMAIL_ADDRESS_1>`` <-> the original value."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

__all__ = ["PLACEHOLDER", "PlaceholderVault", "redaction_marker"]

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")


def redaction_marker(entity: str) -> str:
    """What an irreversibly redacted value becomes (never restored)."""
    return f"<{entity}_REDACTED>"


class PlaceholderVault:
    """Numbers values per entity type; the same value always gets the same placeholder.

    Placeholders that already occur in the request's own text are ``reserve``d first, so a
    literal ``<EMAIL_ADDRESS_1>`` the client wrote is never mistaken for a masked value.
    """

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._reserved: set[str] = set()
        self._next: dict[str, int] = {}
        self._longest = 0

    def __bool__(self) -> bool:
        return bool(self._by_placeholder)

    def __len__(self) -> int:
        return len(self._by_placeholder)

    @property
    def longest(self) -> int:
        """Length of the longest placeholder handed out (for stream hold-back)."""
        return self._longest

    def reserve(self, texts: Iterable[str]) -> None:
        for text in texts:
            if "<" in text:
                self._reserved.update(m.group(0) for m in PLACEHOLDER.finditer(text))

    def mask(self, entity: str, value: str) -> str:
        key = (entity, value)
        known = self._by_value.get(key)
        if known is not None:
            return known
        number = self._next.get(entity, 1)
        while (placeholder := f"<{entity}_{number}>") in self._reserved:
            number += 1
        self._next[entity] = number + 1
        self._by_value[key] = placeholder
        self._by_placeholder[placeholder] = value
        self._longest = max(self._longest, len(placeholder))
        return placeholder

    def is_prefix(self, text: str) -> bool:
        """Could ``text`` (starting with '<') still grow into one of our placeholders?"""
        return any(p.startswith(text) for p in self._by_placeholder)

    def restore(self, text: str, *, json_string: bool = False) -> str:
        """Originals back in place of our placeholders; ``json_string``: JSON-escaped."""
        if not self._by_placeholder or "<" not in text:
            return text

        def original(match: re.Match[str]) -> str:
            value = self._by_placeholder.get(match.group(0))
            if value is None:
                return match.group(0)
            return json.dumps(value, ensure_ascii=False)[1:-1] if json_string else value

        return PLACEHOLDER.sub(original, text)

    def remask(self, text: str) -> str:
        """The upstream's view of ``text``: originals replaced by their placeholders again."""
        for (_, value), placeholder in sorted(
            self._by_value.items(), key=lambda item: -len(item[0][1])
        ):
            if value in text:
                text = text.replace(value, placeholder)
        return text

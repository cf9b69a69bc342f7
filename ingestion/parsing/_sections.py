"""Which elements open a section, and the heading path every element sits under."""

from __future__ import annotations

import re

__all__ = ["SectionTracker", "looks_like_heading"]

_SENTENCE_END = re.compile(r"[.!?;,]\s*$")


def looks_like_heading(text: str) -> bool:
    """Short, single-line text that does not end like a sentence."""
    stripped = text.strip()
    return (
        0 < len(stripped) <= 120
        and "\n" not in stripped
        and len(stripped.split()) <= 15
        and not _SENTENCE_END.search(stripped)
    )


class SectionTracker:
    """Keeps the heading path while walking a document's elements in order."""

    def __init__(self) -> None:
        self._path: list[tuple[int, str]] = []

    def heading(self, text: str, depth: int) -> None:
        self._path = [(d, t) for d, t in self._path if d < depth]
        self._path.append((depth, " ".join(text.split())))

    @property
    def current(self) -> str | None:
        return " > ".join(text for _, text in self._path) or None

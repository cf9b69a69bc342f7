"""Presidio's regex recognizers, run without the bookkeeping the PII step never reads.

``FastPatternRecognizer`` matches and scores as ``PatternRecognizer.analyze`` does (same
patterns, flags, ``validate_result`` / ``invalidate_result``) but returns bare
``(entity, start, end, score)`` hits; ``dedupe`` is ``EntityRecognizer.remove_duplicates``
for such hits. ``tests/gateway/pii`` compares both with Presidio's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["FastPatternRecognizer", "Hit", "dedupe"]

Hit = tuple[str, int, int, float]  # entity, start, end, score

_MIN_SCORE, _MAX_SCORE = 0.0, 1.0  # EntityRecognizer.MIN_SCORE / MAX_SCORE


class FastPatternRecognizer:
    """One Presidio ``PatternRecognizer``, matched and scored as Presidio does."""

    def __init__(self, recognizer: Any) -> None:
        import regex

        flags = recognizer.global_regex_flags
        self._recognizer = recognizer
        self._entity: str = recognizer.supported_entities[0]
        self._patterns = [
            (regex.compile(p.regex, flags=flags), float(p.score)) for p in recognizer.patterns or ()
        ]

    @staticmethod
    def handles(recognizer: Any) -> bool:
        """A recognizer whose ``analyze`` is ``PatternRecognizer``'s own (not overridden)."""
        from presidio_analyzer import PatternRecognizer

        return (
            isinstance(recognizer, PatternRecognizer)
            and type(recognizer).analyze is PatternRecognizer.analyze
        )

    def hits(self, text: str) -> list[Hit]:
        """``recognizer.analyze(text, ...)`` as hits (``PatternRecognizer.__analyze_patterns``)."""
        from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS

        validate = self._recognizer.validate_result
        invalidate = self._recognizer.invalidate_result
        hits: list[Hit] = []
        for compiled, base in self._patterns:
            try:
                for match in compiled.finditer(text, timeout=REGEX_TIMEOUT_SECONDS):
                    start, end = match.span()
                    if start == end:
                        continue
                    value = text[start:end]
                    score = base
                    valid = validate(value)
                    if valid is not None:
                        score = _MAX_SCORE if valid else _MIN_SCORE
                    if invalidate(value):
                        score = _MIN_SCORE
                    if score > _MIN_SCORE:
                        hits.append((self._entity, start, end, score))
            except TimeoutError:
                continue  # Presidio logs a warning and goes on with the next pattern
        return dedupe(hits)


def dedupe(hits: Iterable[Hit]) -> list[Hit]:
    """``EntityRecognizer.remove_duplicates``: drop repeats, zero scores, and hits that another
    hit of the same entity contains with an equal or higher score."""
    ordered = sorted(set(hits), key=lambda h: (h[0], h[1], -(h[2] - h[1]), -h[3]))
    kept: list[Hit] = []
    active: list[Hit] = []
    entity = None
    for hit in ordered:
        if hit[0] != entity:
            entity, active = hit[0], []
        if hit[3] == 0:
            continue
        active = [a for a in active if a[2] >= hit[1]]
        if not any(a[1] <= hit[1] and hit[2] <= a[2] and hit[3] <= a[3] for a in active):
            kept.append(hit)
            active.append(hit)
    return kept

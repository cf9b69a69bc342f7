"""Regular expressions from tool schemas (``pattern``, ``patternProperties``), made safe.

Every match runs in the ``regex`` module with a timeout, whatever the pattern (``re`` cannot be
interrupted, and no syntactic test finds every catastrophic backtrack). Compiling cannot be
interrupted either, so ``check_pattern`` first refuses patterns over ``MAX_PATTERN_CHARS``,
groups nested over ``MAX_GROUP_NESTING`` and counted repeats whose product exceeds
``MAX_REPEAT_PRODUCT``.
"""

from __future__ import annotations

import regex

__all__ = [
    "MAX_GROUP_NESTING",
    "MAX_PATTERN_CHARS",
    "MAX_REPEAT_PRODUCT",
    "PatternProblem",
    "PatternTimeoutError",
    "check_pattern",
    "search",
]

MAX_PATTERN_CHARS = 1_000
MAX_GROUP_NESTING = 32
MAX_REPEAT_PRODUCT = 1_000  # of counted repeats ({n,m}) nested in each other


class PatternProblem(ValueError):
    """A pattern that is not a regular expression, or one too costly to compile."""


class PatternTimeoutError(Exception):
    """A match ran out of time."""


def check_pattern(pattern: str) -> None:
    """Raises ``PatternProblem`` unless ``pattern`` is cheap to compile and compiles."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternProblem(f"a pattern is longer than {MAX_PATTERN_CHARS} characters")
    nesting, product = _shape(pattern)
    if nesting > MAX_GROUP_NESTING:
        raise PatternProblem(f"a pattern nests groups deeper than {MAX_GROUP_NESTING}")
    if product > MAX_REPEAT_PRODUCT:
        raise PatternProblem(
            f"a pattern's counted repeats multiply to more than {MAX_REPEAT_PRODUCT}"
        )
    try:
        regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise PatternProblem(f"{pattern!r} is not a regular expression") from exc


def search(pattern: str, text: str, *, timeout_s: float) -> bool:
    """True when ``pattern`` matches somewhere in ``text``; ``PatternTimeoutError`` when the
    match takes longer than ``timeout_s``."""
    try:
        # concurrent: the GIL is released while it matches (the check may run in a thread)
        return (
            regex.search(pattern, text, timeout=max(timeout_s, 1e-6), concurrent=True) is not None
        )
    except TimeoutError as exc:
        raise PatternTimeoutError(pattern) from exc


def _shape(pattern: str) -> tuple[int, int]:
    """(deepest group nesting, largest product of nested counted repeat bounds).

    A scan, not a parse: escapes and character classes are skipped, ``{n}``, ``{n,}`` and
    ``{n,m}`` multiply what they repeat (an atom, or a whole group) by their largest bound.
    """
    stack: list[int] = []  # the enclosing groups' largest products so far
    current, last, deepest = 1, 1, 0
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
            last = 1
            continue
        if char == "[":
            i = _class_end(pattern, i)
            last = 1
            continue
        if char == "(":
            stack.append(current)
            deepest = max(deepest, len(stack))
            current = 1
        elif char == ")" and stack:
            last, current = current, max(stack.pop(), current)
        elif char == "{":
            bound, end = _repeat_bound(pattern, i)
            if bound is not None:
                current = max(current, last * bound)
                i = end
                continue
            last = 1
        elif char not in "*+?|":
            last = 1
        i += 1
    return deepest, max(current, *stack) if stack else current


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _repeat_bound(pattern: str, start: int) -> tuple[int | None, int]:
    """The largest bound of a ``{n}`` / ``{n,}`` / ``{n,m}`` at ``start`` and where it ends."""
    end = pattern.find("}", start)
    if end < 0:
        return None, start
    parts = pattern[start + 1 : end].split(",")
    if len(parts) > 2 or not all(p.strip().isdigit() or p.strip() == "" for p in parts):
        return None, start
    numbers = [int(p) for p in parts if p.strip()]
    if not numbers:
        return None, start
    return max(numbers), end + 1

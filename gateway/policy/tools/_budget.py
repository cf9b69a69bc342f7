"""Checking tool-call arguments within a time budget.

The validator classes here look at the clock on every keyword-function call, so a check past
its deadline stops with ``CheckTooCostlyError`` wherever it is. Keywords whose work is not
bounded by the schema's size are replaced: ``pattern``, ``patternProperties`` and
``additionalProperties`` match with ``regex`` under a timeout (``_patterns``), ``uniqueItems``
hashes. ``format`` is an annotation only: no format checker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from gateway.policy.tools._patterns import PatternTimeoutError, search

__all__ = ["CheckTooCostlyError", "Deadline", "metered", "within"]

Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Any]


class CheckTooCostlyError(Exception):
    """The check ran past its deadline."""


@dataclass(slots=True)
class Deadline:
    """When the running check must have finished (``time.perf_counter`` seconds)."""

    at: float

    def left(self) -> float:
        left = self.at - time.perf_counter()
        if left <= 0:
            raise CheckTooCostlyError
        return left


# The deadline of the check running in this context: keyword functions are called by
# jsonschema with (validator, value, instance, schema) only, so it cannot be passed along.
_DEADLINE: ContextVar[Deadline | None] = ContextVar("tool_check_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[Deadline]:
    """Runs the checks inside the block under one deadline, ``seconds`` from now."""
    deadline = Deadline(time.perf_counter() + seconds)
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def _left() -> float:
    deadline = _DEADLINE.get()
    return 3600.0 if deadline is None else deadline.left()


def _meter(keyword: Keyword) -> Keyword:
    def metered_keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        _left()
        return keyword(validator, value, instance, schema)

    return metered_keyword


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = [
        key
        for key in instance
        if key not in properties and not any(_matches(p, key) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        names = ", ".join(repr(extra) for extra in sorted(extras))
        yield ValidationError(f"Additional properties are not allowed ({names} unexpected)")


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _frozen(item)
        if key in seen:
            yield ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(key)


def _frozen(value: Any) -> Any:
    """A hashable stand-in equal exactly when jsonschema's ``equal`` says so: 1 == 1.0,
    but true is not 1; object keys in any order."""
    if isinstance(value, bool) or value is None:
        return ("const", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_frozen(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _frozen(v)) for k, v in value.items()))
    return ("other", id(value))


def _matches(pattern: str, text: str) -> bool:
    try:
        return search(pattern, text, timeout_s=_left())
    except PatternTimeoutError as exc:
        raise CheckTooCostlyError from exc


_REPLACED: dict[str, Keyword] = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}


def metered(cls: type[Validator]) -> type[Validator]:
    """``cls`` (one draft's validator) with every keyword metered and the four replaced."""
    keywords = {
        name: _meter(_REPLACED.get(name) or function) for name, function in cls.VALIDATORS.items()
    }
    extended: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]
        cls, validators=keywords
    )
    return extended

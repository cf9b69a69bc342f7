"""What a tool's ``parameters`` may cost, checked in one linear pass before anything else reads it.

``check_limits`` refuses:

- over ``MAX_SCHEMA_BYTES`` of compact JSON or ``MAX_SUBSCHEMAS`` objects;
- combinators (``allOf`` ... ``if``) nested deeper than ``MAX_COMBINATOR_NESTING``;
- over ``MAX_IN_PLACE`` subschemas applied to one place once ``$ref`` is followed;
- a ``$ref`` cycle that never moves into a part of the arguments (endless recursion);
- over ``MAX_ENUM_VALUES`` ``enum`` values in all; patterns ``_patterns`` refuses;
- ``unevaluatedProperties`` beside ``patternProperties`` (jsonschema matches those with ``re``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.policy.tools._patterns import PatternProblem, check_pattern

__all__ = [
    "MAX_COMBINATOR_NESTING",
    "MAX_ENUM_VALUES",
    "MAX_IN_PLACE",
    "MAX_SCHEMA_BYTES",
    "MAX_SUBSCHEMAS",
    "LimitProblem",
    "check_limits",
]

MAX_SCHEMA_BYTES = 64 * 1024
MAX_SUBSCHEMAS = 1_000
MAX_COMBINATOR_NESTING = 8
MAX_IN_PLACE = 1_000
MAX_ENUM_VALUES = 1_000

_COMBINATORS = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "then", "else"})
# keywords whose subschemas apply to the same place of the arguments
_IN_PLACE_ONE = frozenset({"not", "if", "then", "else"})
_IN_PLACE_MANY = frozenset({"allOf", "anyOf", "oneOf"})
_IN_PLACE_MAP = frozenset({"dependentSchemas", "dependencies"})
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
_MAX_CHAIN = 200  # keeps the count's recursion far from the interpreter's limit


class LimitProblem(ValueError):
    """A schema over one of the limits; the message names the rule."""


def check_limits(schema: Mapping[str, Any]) -> None:
    """Raises ``LimitProblem`` when ``schema`` is over a limit (see the module)."""
    size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_SCHEMA_BYTES:
        raise LimitProblem(f"it is {size} bytes of JSON, over the limit of {MAX_SCHEMA_BYTES}")
    nodes = list(_objects(schema))
    if len(nodes) > MAX_SUBSCHEMAS:
        raise LimitProblem(f"it has more than {MAX_SUBSCHEMAS} subschemas")
    enums = 0
    has_unevaluated = has_pattern_properties = False
    for node, nesting in nodes:
        if nesting > MAX_COMBINATOR_NESTING:
            raise LimitProblem(
                f"allOf/anyOf/oneOf/not/if nest more than {MAX_COMBINATOR_NESTING} deep"
            )
        if isinstance(node.get("enum"), list):
            enums += len(node["enum"])
        has_unevaluated |= "unevaluatedProperties" in node
        patterns = node.get("patternProperties")
        has_pattern_properties |= isinstance(patterns, dict) and bool(patterns)
        for pattern in [node.get("pattern"), *(patterns if isinstance(patterns, dict) else ())]:
            if isinstance(pattern, str):
                try:
                    check_pattern(pattern)
                except PatternProblem as exc:
                    raise LimitProblem(str(exc)) from exc
    if enums > MAX_ENUM_VALUES:
        raise LimitProblem(f"its enums list more than {MAX_ENUM_VALUES} values in all")
    if has_unevaluated and has_pattern_properties:
        raise LimitProblem("'unevaluatedProperties' cannot be combined with 'patternProperties'")
    _InPlace(schema).check()


def _objects(schema: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], int]]:
    """Every object in the schema with how many combinators enclose it."""
    stack: list[tuple[Any, int]] = [(schema, 0)]
    while stack:
        node, nesting = stack.pop()
        if isinstance(node, list):
            stack.extend((item, nesting) for item in node)
        elif isinstance(node, dict):
            yield node, nesting
            for key, value in node.items():
                if isinstance(value, dict | list) and key not in ("enum", "const"):
                    stack.append((value, nesting + (key in _COMBINATORS)))


class _InPlace:
    """Counts the subschemas applied to one place, ``$ref`` followed, and finds cycles."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._anchors = _anchors(root)
        self._cost: dict[int, int] = {}
        self._open: set[int] = set()

    def check(self) -> None:
        for node, _ in _objects(self._root):
            if self._count(node, 0) > MAX_IN_PLACE:
                raise LimitProblem(
                    f"more than {MAX_IN_PLACE} subschemas apply to one value once "
                    "references are followed"
                )

    def _count(self, node: Any, chain: int) -> int:
        if not isinstance(node, dict):
            return 1
        key = id(node)
        if key in self._cost:
            return self._cost[key]
        if key in self._open:
            raise LimitProblem(
                "a '$ref' cycle returns to the same value without passing through "
                "'properties', 'items' or another keyword that moves into it"
            )
        if chain > _MAX_CHAIN:
            raise LimitProblem(f"references chain more than {_MAX_CHAIN} deep")
        self._open.add(key)
        total = 1
        for child in self._in_place(node):
            total += self._count(child, chain + 1)
            if total > MAX_IN_PLACE:
                break
        self._open.discard(key)
        self._cost[key] = total
        return total

    def _in_place(self, node: Mapping[str, Any]) -> Iterator[Any]:
        for keyword, value in node.items():
            if keyword in _IN_PLACE_ONE:
                yield value
            elif keyword in _IN_PLACE_MANY and isinstance(value, list):
                yield from value
            elif keyword in _IN_PLACE_MAP and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, dict))
            elif keyword in _REFERENCES and isinstance(value, str):
                yield from self._targets(value)

    def _targets(self, reference: str) -> Iterator[Any]:
        if reference == "#" or reference.startswith("#/"):
            target: Any = self._root
            for part in reference[2:].split("/") if reference != "#" else ():
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    return  # unresolvable: check_schema refuses it
            yield target
        else:
            yield from self._anchors.get(reference.removeprefix("#"), ())


def _anchors(root: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """Subschemas by plain-name anchor ($anchor, $dynamicAnchor, draft-7 '$id': '#name')."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for node, _ in _objects(root):
        for keyword in ("$anchor", "$dynamicAnchor", "$id"):
            name = node.get(keyword)
            if isinstance(name, str) and (keyword != "$id" or name.startswith("#")):
                found.setdefault(name.removeprefix("#"), []).append(node)
    return found

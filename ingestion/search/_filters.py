"""OpenAI attribute filters, parsed from JSON and compiled to parameterised SQL on a jsonb column.

A comparison filter is ``{"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key": ...,
"value": ...}``; a compound filter is ``{"type": "and"|"or", "filters": [...]}``. Values are
strings, numbers or booleans (lists of them for ``in`` / ``nin``).

Semantics, on the file's ``attributes``: ``eq`` / ``in`` need the key present with an equal
value of the same JSON type (``1`` equals ``1.0``; ``"1"`` does not equal ``1``); ``ne`` / ``nin``
also match files without the key; ``gt`` / ``gte`` / ``lt`` / ``lte`` compare numbers with numbers
and strings with strings (so ISO dates order correctly) and never match another type.

Keys and values always travel as bind parameters; only fixed SQL text is composed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from psycopg import sql
from psycopg.types.json import Jsonb

from ingestion.errors import InvalidFilterError

__all__ = [
    "AttributeFilter",
    "Comparison",
    "CompiledFilter",
    "Compound",
    "compile_filter",
    "parse_filter",
]

Scalar = str | int | float | bool
ComparisonType = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
CompoundType = Literal["and", "or"]

_COMPARISONS: tuple[str, ...] = get_args(ComparisonType)
_COMPOUNDS: tuple[str, ...] = get_args(CompoundType)
_ORDERING = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_KEY_LENGTH = 64
MAX_STRING_LENGTH = 512
MAX_LIST_LENGTH = 256
MAX_DEPTH = 8
MAX_NODES = 128


@dataclass(frozen=True, slots=True)
class Comparison:
    """``attributes[key] <type> value``."""

    type: ComparisonType
    key: str
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Compound:
    """All (``and``) or any (``or``) of the nested filters."""

    type: CompoundType
    filters: tuple[AttributeFilter, ...]


AttributeFilter = Comparison | Compound


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A boolean SQL expression and the named parameters it uses."""

    clause: sql.Composable
    params: dict[str, Any]


def parse_filter(raw: object, *, param: str = "filters") -> AttributeFilter:
    """Validate an OpenAI filter object; ``InvalidFilterError`` names the offending path."""
    counter = [0]
    return _parse(raw, param, depth=1, counter=counter)


def _parse(raw: object, path: str, *, depth: int, counter: list[int]) -> AttributeFilter:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise InvalidFilterError(f"{path}: a filter may hold at most {MAX_NODES} conditions")
    if depth > MAX_DEPTH:
        raise InvalidFilterError(f"{path}: filters nest at most {MAX_DEPTH} levels deep")
    if not isinstance(raw, Mapping):
        raise InvalidFilterError(f"{path}: must be an object")
    kind = raw.get("type")
    if kind in _COMPOUNDS:
        _only_keys(raw, {"type", "filters"}, path)
        children = raw.get("filters")
        if not isinstance(children, Sequence) or isinstance(children, str) or not children:
            raise InvalidFilterError(f"{path}.filters: must be a non-empty list of filters")
        parsed = tuple(
            _parse(child, f"{path}.filters[{i}]", depth=depth + 1, counter=counter)
            for i, child in enumerate(children)
        )
        return Compound(type=kind, filters=parsed)
    if kind in _COMPARISONS:
        _only_keys(raw, {"type", "key", "value"}, path)
        key = raw.get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidFilterError(
                f"{path}.key: must be a non-empty string of at most {MAX_KEY_LENGTH} characters"
            )
        return Comparison(type=kind, key=key, value=_value(kind, raw.get("value"), path))
    allowed = ", ".join(_COMPARISONS + _COMPOUNDS)
    raise InvalidFilterError(f"{path}.type: must be one of {allowed}, not {kind!r}")


def _only_keys(raw: Mapping[Any, Any], allowed: set[str], path: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise InvalidFilterError(f"{path}: unknown field {unknown[0]!r}")


def _value(kind: str, value: object, path: str) -> Scalar | tuple[Scalar, ...]:
    where = f"{path}.value"
    if kind in ("in", "nin"):
        if not isinstance(value, Sequence) or isinstance(value, str) or not value:
            raise InvalidFilterError(f"{where}: '{kind}' needs a non-empty list")
        if len(value) > MAX_LIST_LENGTH:
            raise InvalidFilterError(f"{where}: at most {MAX_LIST_LENGTH} values")
        return tuple(_scalar(item, f"{where}[{i}]") for i, item in enumerate(value))
    scalar = _scalar(value, where)
    if kind in _ORDERING and isinstance(scalar, bool):
        raise InvalidFilterError(f"{where}: '{kind}' compares numbers or strings, not booleans")
    return scalar


def _scalar(value: object, where: str) -> Scalar:
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise InvalidFilterError(f"{where}: at most {MAX_STRING_LENGTH} characters")
        return value
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidFilterError(f"{where}: must be a finite number")
        return value
    raise InvalidFilterError(f"{where}: must be a string, number or boolean")


def compile_filter(
    condition: AttributeFilter, column: sql.Composable, *, prefix: str = "attr"
) -> CompiledFilter:
    """SQL over ``column`` (a jsonb expression) that is true where the filter matches."""
    params: dict[str, Any] = {}
    clause = _compile(condition, column, params, prefix)
    return CompiledFilter(clause=clause, params=params)


def _compile(
    node: AttributeFilter, column: sql.Composable, params: dict[str, Any], prefix: str
) -> sql.Composable:
    if isinstance(node, Compound):
        joiner = sql.SQL(" AND " if node.type == "and" else " OR ")
        parts = [_compile(child, column, params, prefix) for child in node.filters]
        return sql.SQL("({})").format(joiner.join(parts))

    def bind(value: Any) -> sql.Placeholder:
        name = f"{prefix}{len(params)}"
        params[name] = value
        return sql.Placeholder(name)

    field = sql.SQL("({} -> {}::text)").format(column, bind(node.key))
    value = node.value
    if node.type in ("in", "nin"):
        assert isinstance(value, tuple)
        found = sql.SQL("{} = ANY({}::jsonb[])").format(field, bind([Jsonb(v) for v in value]))
        if node.type == "in":
            return found
        return sql.SQL("NOT coalesce({}, false)").format(found)
    if node.type == "eq":
        return sql.SQL("{} = {}::jsonb").format(field, bind(Jsonb(value)))
    if node.type == "ne":
        return sql.SQL("{} IS DISTINCT FROM {}::jsonb").format(field, bind(Jsonb(value)))
    json_type = "string" if isinstance(value, str) else "number"
    return sql.SQL("(jsonb_typeof({}) = {} AND {} {} {}::jsonb)").format(
        field, sql.Literal(json_type), field, sql.SQL(_ORDERING[node.type]), bind(Jsonb(value))
    )

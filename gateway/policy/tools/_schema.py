"""JSON Schema validation of tool-call arguments with ``jsonschema`` (all drafts).

A tool's ``parameters`` is one self-contained document, and nothing is ever fetched:
``check_schema`` refuses non-local ``$ref`` / ``$dynamicRef`` / ``$recursiveRef``, a ``$id``
that moves the base URI, an unknown ``$schema`` and nesting beyond ``MAX_DEPTH``, and
validators use a registry whose ``retrieve`` raises. ``_limits`` runs first; arguments are
checked by metered validators (``_budget``), so ``first_error`` may raise ``CheckTooCostlyError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import exceptions as schema_errors
from jsonschema.protocols import Validator
from jsonschema.validators import (
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
)
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import specification_with

from gateway.policy.tools._budget import metered, within
from gateway.policy.tools._depth import MAX_DEPTH, deeper_than
from gateway.policy.tools._limits import LimitProblem, check_limits

__all__ = ["SchemaProblem", "check_schema", "compile_schema", "first_error"]

_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
_DIALECTS: dict[str, tuple[str, type[Validator]]] = {
    str(cls.ID_OF(cls.META_SCHEMA)).rstrip("#"): (str(cls.ID_OF(cls.META_SCHEMA)), cls)
    for cls in (
        Draft4Validator,
        Draft6Validator,
        Draft7Validator,
        Draft201909Validator,
        Draft202012Validator,
    )
}
_NEWEST = str(Draft202012Validator.ID_OF(Draft202012Validator.META_SCHEMA))
_METERED = {cls: metered(cls) for _, cls in _DIALECTS.values()}


class SchemaProblem(ValueError):
    """A tool's ``parameters`` is not a valid, self-contained JSON Schema."""


def _never_retrieve(uri: str) -> Resource[Any]:
    raise NoSuchResource(uri)


# Immutable: with_resource and combine return new registries.
_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_never_retrieve)  # type: ignore[call-arg]


def check_schema(schema: Mapping[str, Any]) -> Validator:
    """A validator for ``schema`` after checking it is valid and self-contained.

    Raises ``SchemaProblem`` naming what is wrong (and where, for a reference).
    """
    if deeper_than(schema):
        raise SchemaProblem(f"it nests deeper than {MAX_DEPTH} levels")
    try:
        check_limits(schema)
    except LimitProblem as exc:
        raise SchemaProblem(str(exc)) from exc
    dialect, cls = _dialect(schema)
    references = list(_references(schema))
    try:
        cls.check_schema(dict(schema))
    except schema_errors.SchemaError as exc:
        raise SchemaProblem(exc.message) from exc
    if references:
        root = specification_with(dialect).create_resource(dict(schema))
        resolver = _LOCAL_ONLY.resolver_with_root(root)  # refs point into the root only
        for where, reference in references:
            try:
                resolver.lookup(reference)
            except Unresolvable as exc:
                raise SchemaProblem(f"'{reference}' at {where} points nowhere") from exc
    return compile_schema(schema)


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """A metered validator (no format checker) for a schema ``check_schema`` accepted; it
    never fetches a reference."""
    return _METERED[_dialect(schema)[1]](dict(schema), registry=_LOCAL_ONLY)


def first_error(validator: Validator, document: Any, *, budget_s: float) -> tuple[str, str] | None:
    """The most relevant violation or None when valid; ``CheckTooCostlyError`` when finding
    out takes longer than ``budget_s``.

    Returns ``(where, message)``: ``where`` names the path and the failed keyword only
    (safe for audit rows); ``message`` is the validator's text, which may quote the value.
    A reference that cannot be resolved or a recursion too deep to follow is a violation.
    """
    try:
        with within(budget_s):
            error = schema_errors.best_match(validator.iter_errors(document))
    except Unresolvable:
        return "(an unresolvable reference)", "the schema cannot be evaluated"
    except RecursionError:
        return "(recursion too deep)", "the schema cannot be evaluated"
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"at {path}: fails '{error.validator}'", error.message


def _dialect(schema: Mapping[str, Any]) -> tuple[str, type[Validator]]:
    """The draft ``schema`` declares (its meta-schema's URI and validator), else the newest."""
    declared = schema.get("$schema", _NEWEST)
    found = _DIALECTS.get(declared.rstrip("#")) if isinstance(declared, str) else None
    if found is None:
        raise SchemaProblem(f"'$schema' must name a known draft, not {declared!r}")
    return found


def _references(schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, reference)`` of every local reference; ``SchemaProblem`` for any other."""
    stack: list[tuple[Any, str]] = [(schema, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{path}/{i}") for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if isinstance(value, dict | list):
                stack.append((value, f"{path}/{key}"))
            elif not isinstance(value, str):
                continue
            elif key in _REFERENCES:
                if not value.startswith("#"):
                    raise SchemaProblem(
                        f"'{key}' at {path or '/'} must point into the schema ('#/...'); "
                        f"'{value}' would be fetched"
                    )
                yield path or "/", value
            elif key == "$id" and not value.startswith("#"):
                raise SchemaProblem(
                    f"'$id' at {path or '/'} may not set a base URI ('{value}'); "
                    "references must stay inside the schema"
                )

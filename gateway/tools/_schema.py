"""JSON Schema validation of tool-call arguments (``jsonschema``: the reference validator,
all drafts; a hand-written subset would accept what the declared schema forbids)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import exceptions as schema_errors
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

__all__ = ["SchemaProblem", "compile_schema", "first_error"]


class SchemaProblem(ValueError):
    """A tool's ``parameters`` is not a valid JSON Schema."""


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """A validator for ``schema`` (its ``$schema`` draft, else the newest); checks the schema."""
    cls = validator_for(schema)
    try:
        cls.check_schema(dict(schema))
    except schema_errors.SchemaError as exc:
        raise SchemaProblem(exc.message) from exc
    return cls(schema)


def first_error(validator: Validator, document: Any) -> tuple[str, str] | None:
    """The most relevant violation or None when valid.

    Returns ``(where, message)``: ``where`` names the path and the failed keyword only
    (safe for audit rows); ``message`` is the validator's text, which may quote the value.
    """
    error = schema_errors.best_match(validator.iter_errors(document))
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"at {path}: fails '{error.validator}'", error.message

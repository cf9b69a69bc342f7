"""Validation errors in the terms of the config files: the key's path, and who set it.

pydantic's error locations add a tag for each union member they pass through
(``inference.embedder.local.bogus``); a config file never writes that tag, and ``sources``
(path -> file or environment variable) is keyed by what the files do write.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from configs._logging import redact_secrets
from configs._models import Settings

__all__ = ["Path_", "describe"]

Path_ = tuple[str, ...]


def describe(exc: ValidationError, sources: Mapping[Path_, str]) -> str:
    """One line per error: ``<file or variable>: '<dotted.path>': <what is wrong>``."""
    lines = ["invalid configuration:"]
    for error in exc.errors():
        where = _locate(error["loc"])
        tag = _tag_error(error, where.path)
        if tag is not None:
            path, blame, message = tag
        else:
            path = where.path
            if error["type"] == "extra_forbidden":
                message = "unknown key" + _suggest(where)
            else:
                message = f"{error['msg']} (got {_shown(where.path, error.get('input'))})"
            # A missing key of a union member is owed by whoever chose the member (its `kind`).
            chosen = where.chosen_by if error["type"] == "missing" else None
            blame = chosen or where.path
        lines.append(f"  {_source_of(blame, sources)}: '{'.'.join(path)}': {message}")
    return "\n".join(lines)


# Keys whose values may be secrets (header values carry API keys, a URL may carry a password):
# an error about them says what is wrong, never what was given.
_SECRET_KEY = re.compile(r"headers|key|secret|token|password|credential", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


def _shown(path: Path_, value: object) -> str:
    if any(_SECRET_KEY.search(part) for part in path):
        return "a value not shown here: it may be a secret"
    if isinstance(value, Mapping | list | tuple):
        return f"a {type(value).__name__}"  # may hold anything, headers included
    return redact_secrets(_URL_CREDENTIALS.sub(r"\1***@", repr(value)))


def _tag_error(error: ErrorDetails, path: Path_) -> tuple[Path_, Path_, str] | None:
    """An unknown or absent discriminator (``kind``) of the union at ``path``: the key's path,
    whom to blame (who set the kind; for an absent one, who wrote the mapping) and the message."""
    ctx = error.get("ctx") or {}
    key = str(ctx.get("discriminator", "")).strip("'")
    if not key.isidentifier():  # a callable discriminator: no key to name
        return None
    at = (*path, key)
    if error["type"] == "union_tag_invalid":
        got = _shown(at, ctx.get("tag"))
        return at, at, f"unknown {key}, expected one of {ctx.get('expected_tags')} (got {got})"
    if error["type"] == "union_tag_not_found":
        return at, path, f"Field required: the {key} picks the implementation"
    return None


def _source_of(loc: Path_, sources: Mapping[Path_, str]) -> str:
    for end in range(len(loc), 0, -1):
        if loc[:end] in sources:
            return sources[loc[:end]]
    return "defaults"


def _suggest(where: _Location) -> str:
    if where.model is None:
        return ""
    close = difflib.get_close_matches(where.path[-1], list(where.model.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True, slots=True)
class _Location:
    """Where a validation error points, in the terms of the config files."""

    path: Path_
    """The settings path: pydantic's location without the tags it adds for union members
    (``inference.embedder.bogus``, not ``inference.embedder.local.bogus``)."""
    model: type[BaseModel] | None
    """The model of which the last key would be a field; None outside models."""
    chosen_by: Path_ | None
    """The discriminator key that chose the innermost union member on the path, if any."""


def _locate(loc: tuple[int | str, ...]) -> _Location:
    path: list[str] = []
    model: type[BaseModel] | None = None
    chosen_by: Path_ | None = None
    annotation: Any = Settings
    discriminator: str | None = None
    parts = [str(part) for part in loc]
    while parts:
        annotation, discriminator = _unwrap(annotation, discriminator)
        members = _members(annotation)
        if discriminator is not None and _is_model(annotation):
            members = [annotation]  # a discriminated union of one member, tagged all the same
        if len(members) > 1 or discriminator is not None:  # pydantic puts the tag in the location
            chosen = _member_tagged(members, discriminator, parts[0])
            if chosen is not None:
                if discriminator is not None:
                    chosen_by = (*path, discriminator)
                annotation, discriminator = chosen, None
                parts.pop(0)
                continue
        elif members:
            annotation = members[0]  # X | None
        part = parts.pop(0)
        path.append(part)
        model = annotation if _is_model(annotation) else None
        origin, args = get_origin(annotation), get_args(annotation)
        if model is not None:
            field = model.model_fields.get(part)
            annotation = field.annotation if field else None
            discriminator = _discriminator_of(field.discriminator) if field else None
        elif origin in (dict, Mapping) and len(args) == 2:
            annotation, discriminator = args[1], None
        elif origin in (tuple, list, Sequence) and args:
            annotation, discriminator = args[0], None
        else:
            annotation, discriminator = None, None
    return _Location(tuple(path), model, chosen_by)


def _unwrap(annotation: Any, discriminator: str | None) -> tuple[Any, str | None]:
    """``Annotated[X, Field(discriminator=...)]`` -> X and the discriminator."""
    while get_origin(annotation) is Annotated:
        annotation, *metadata = get_args(annotation)
        for item in metadata:
            if isinstance(item, FieldInfo) and item.discriminator is not None:
                discriminator = _discriminator_of(item.discriminator)
    return annotation, discriminator


def _discriminator_of(value: object) -> str | None:
    return value if isinstance(value, str) else None  # a callable Discriminator has no key


def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) not in (Union, UnionType):
        return []
    return [arg for arg in get_args(annotation) if arg is not type(None)]


def _member_tagged(members: list[Any], discriminator: str | None, tag: str) -> Any:
    """The union member that pydantic names ``tag``: its discriminator value or its type name."""
    for member in members:
        if getattr(member, "__name__", None) == tag:
            return member
        if discriminator is not None and _is_model(member):
            field = member.model_fields.get(discriminator)
            if field is not None and tag in (str(v) for v in get_args(field.annotation)):
                return member
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)

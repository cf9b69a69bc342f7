"""The key form's fields, read into ``KeyCreate`` / ``KeyUpdate`` with readable errors.

Globs are typed comma- or newline-separated; an empty box means the default (``*``).
Numbers may be left empty (no limit). ``expires_at`` comes from a ``datetime-local`` input
and is read as UTC. A value the models refuse becomes a 400 whose message names the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from configs import Settings
from gateway.platform.errors import InvalidRequestError
from gateway.policy.keys import KeyCreate, KeyUpdate

__all__ = ["GLOB_FIELDS", "LIMIT_FIELDS", "key_create", "key_update", "pii_policies"]

GLOB_FIELDS = ("allowed_models", "allowed_tools", "readable_collections")
LIMIT_FIELDS = ("rpm", "tpm", "tokens_per_day", "monthly_budget_usd")
_BUILT_IN_PII = ("mask", "redact", "block", "allow")
_Model = TypeVar("_Model", bound=BaseModel)


def pii_policies(settings: Settings) -> list[str]:
    """The PII policy names a key may select: the built-in ones and the configured ones."""
    return sorted({*_BUILT_IN_PII, *settings.pii.policies})


def _globs(text: str) -> list[str]:
    globs = [g.strip() for g in re.split(r"[,\n]", text) if g.strip()]
    return globs or ["*"]


def _number(field: str, text: str) -> float | int | None:
    text = text.strip().replace(",", "") if field != "monthly_budget_usd" else text.strip()
    if not text:
        return None
    try:
        return float(text) if field == "monthly_budget_usd" else int(text)
    except ValueError as exc:
        kind = "a number" if field == "monthly_budget_usd" else "a whole number"
        raise InvalidRequestError(f"{field}: '{text[:20]}' is not {kind}", param=field) from exc


def _expiry(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequestError(
            f"expires_at: '{text[:30]}' is not a date and time", param="expires_at"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fields(form: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": form.get("name", ""),
        "role": form.get("role", "member"),
        "owner": form.get("owner", "").strip() or None,
        "pii_policy": form.get("pii_policy", "").strip() or None,
        "expires_at": _expiry(form.get("expires_at", "")),
    }
    for field in GLOB_FIELDS:
        values[field] = _globs(form.get(field, ""))
    for field in LIMIT_FIELDS:
        values[field] = _number(field, form.get(field, ""))
    return values


def _validated(model: type[_Model], values: dict[str, Any]) -> _Model:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        fields = [".".join(str(part) for part in e["loc"]) or "form" for e in exc.errors()]
        problems = [f"{field}: {e['msg']}" for field, e in zip(fields, exc.errors(), strict=True)]
        raise InvalidRequestError("; ".join(problems), param=fields[0]) from exc


def key_create(form: Mapping[str, str]) -> KeyCreate:
    """A new key from the create form."""
    return _validated(KeyCreate, _fields(form))


def key_update(form: Mapping[str, str]) -> KeyUpdate:
    """Every allowance from the edit form (an empty limit clears it)."""
    return _validated(KeyUpdate, _fields(form))

"""Who is calling: the authenticated key and what it may do."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

__all__ = ["Authenticator", "Principal", "Role"]

Role = Literal["admin", "member"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API key with its allowances. Never holds the key itself.

    Glob lists use fnmatch patterns; ``("*",)`` allows everything. ``None`` limits mean
    unlimited.
    """

    key_id: str
    name: str
    role: Role
    display_prefix: str
    owner: str | None = None
    allowed_models: tuple[str, ...] = ("*",)
    allowed_tools: tuple[str, ...] = ("*",)
    readable_collections: tuple[str, ...] = ("*",)
    rpm: int | None = None
    tpm: int | None = None
    tokens_per_day: int | None = None
    monthly_budget_usd: float | None = None
    pii_policy: str | None = None
    expires_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_use_model(self, alias: str) -> bool:
        return _matches(alias, self.allowed_models)

    def may_use_tool(self, name: str) -> bool:
        return _matches(name, self.allowed_tools)

    def may_read_collection(self, collection_id: str) -> bool:
        return self.is_admin or _matches(collection_id, self.readable_collections)


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


class Authenticator(Protocol):
    """Turns a presented bearer token into a Principal, or raises AuthenticationError."""

    async def authenticate(self, token: str | None) -> Principal:
        """Missing, unknown, revoked or expired keys raise ``AuthenticationError``."""

"""Managing API keys in Postgres: create, list, get, update, rotate, revoke, delete.

Every change that can affect a running gateway (update, rotate, revoke, delete) is announced
through ``KeyEvents`` after it commits, so every process drops its cached copy at once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from gateway.platform.errors import ConflictError, NotFoundError
from gateway.policy.keys._model import CreatedKey, KeyCreate, KeyRecord, KeyUpdate
from gateway.policy.keys._secrets import new_key

__all__ = [
    "KEY_COLUMNS",
    "KeyEvents",
    "KeyInactiveError",
    "KeyNotFoundError",
    "KeyService",
    "record_from_row",
]

_log = logging.getLogger(__name__)

KEY_COLUMNS = (
    "id, name, role, display_prefix, owner, allowed_models, allowed_tools, readable_collections, "
    "rpm, tpm, tokens_per_day, monthly_budget_usd, pii_policy, metadata, created_at, updated_at, "
    "expires_at, revoked_at"
)
_SETTABLE = frozenset(KeyUpdate.model_fields)


class KeyNotFoundError(NotFoundError):
    default_code = "api_key_not_found"


class KeyInactiveError(ConflictError):
    """The key is revoked or expired, so the change asked for would issue a dead secret."""

    default_code = "api_key_inactive"


class KeyEvents(Protocol):
    """Tells every gateway process that a key changed (best effort; caches expire anyway)."""

    async def key_changed(self, key_id: str) -> None: ...


def record_from_row(row: dict[str, Any]) -> KeyRecord:
    budget = row["monthly_budget_usd"]
    return KeyRecord.model_validate(
        {
            **row,
            "monthly_budget_usd": float(budget) if isinstance(budget, Decimal) else budget,
            "metadata": dict(row["metadata"] or {}),
        }
    )


def _param(column: str, value: Any) -> Any:
    return Jsonb(value) if column == "metadata" else value


class KeyService:
    """The one place that writes ``api_keys`` (apart from the start-up admin key)."""

    def __init__(self, pool: AsyncConnectionPool, *, events: KeyEvents) -> None:
        self._pool = pool
        self._events = events

    async def create(self, spec: KeyCreate) -> CreatedKey:
        key = new_key()
        values = spec.model_dump()
        columns = ["id", "key_hash", "display_prefix", *values]
        params = [
            "key_" + secrets.token_hex(12),
            key.key_hash,
            key.display_prefix,
            *(_param(c, v) for c, v in values.items()),
        ]
        query = sql.SQL("INSERT INTO api_keys ({}) VALUES ({}) RETURNING {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            sql.SQL(KEY_COLUMNS),
        )
        row = await self._one(query, params)
        assert row is not None
        _log.info("api key created", extra={"key_id": row["id"], "role": row["role"]})
        return CreatedKey(**record_from_row(row).model_dump(), key=key.plaintext)

    async def list(
        self,
        *,
        include_revoked: bool = False,
        owner: str | None = None,
        role: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[KeyRecord]:
        conditions = [sql.SQL("TRUE")]
        params: list[Any] = []
        if not include_revoked:
            conditions.append(sql.SQL("revoked_at IS NULL"))
        if owner is not None:
            conditions.append(sql.SQL("owner = %s"))
            params.append(owner)
        if role is not None:
            conditions.append(sql.SQL("role = %s"))
            params.append(role)
        query = sql.SQL(
            "SELECT {} FROM api_keys WHERE {} ORDER BY created_at, id LIMIT %s OFFSET %s"
        ).format(sql.SQL(KEY_COLUMNS), sql.SQL(" AND ").join(conditions))
        async with self._pool.connection() as conn:
            cursor = await conn.cursor(row_factory=dict_row).execute(
                query, [*params, limit, offset]
            )
            return [record_from_row(row) for row in await cursor.fetchall()]

    async def get(self, key_id: str) -> KeyRecord:
        query = sql.SQL("SELECT {} FROM api_keys WHERE id = %s").format(sql.SQL(KEY_COLUMNS))
        return record_from_row(await self._found(key_id, query, [key_id]))

    async def update(self, key_id: str, change: KeyUpdate) -> KeyRecord:
        changes = {c: v for c, v in change.changes().items() if c in _SETTABLE}
        if not changes:
            return await self.get(key_id)
        assignments = [sql.SQL("{} = %s").format(sql.Identifier(column)) for column in changes]
        query = sql.SQL(
            "UPDATE api_keys SET {}, updated_at = now() WHERE id = %s RETURNING {}"
        ).format(sql.SQL(", ").join(assignments), sql.SQL(KEY_COLUMNS))
        params = [*(_param(c, v) for c, v in changes.items()), key_id]
        row = await self._found(key_id, query, params)
        await self._announce(key_id, "updated")
        return record_from_row(row)

    async def rotate(self, key_id: str) -> CreatedKey:
        """A new secret for the same key (allowances and usage history stay); the old one stops.

        A revoked or expired key is refused (``KeyInactiveError``, 409): its new secret would
        not authenticate. Un-expire it first (``expires_at``), or create a new key.
        """
        key = new_key()
        query = sql.SQL(
            "UPDATE api_keys SET key_hash = %s, display_prefix = %s, updated_at = now() "
            "WHERE id = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
            "RETURNING {}"
        ).format(sql.SQL(KEY_COLUMNS))
        row = await self._one(query, [key.key_hash, key.display_prefix, key_id])
        if row is None:
            raise self._inactive(await self.get(key_id))
        await self._announce(key_id, "rotated")
        return CreatedKey(**record_from_row(row).model_dump(), key=key.plaintext)

    async def revoke(self, key_id: str) -> KeyRecord:
        query = sql.SQL(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), updated_at = now() "
            "WHERE id = %s RETURNING {}"
        ).format(sql.SQL(KEY_COLUMNS))
        row = await self._found(key_id, query, [key_id])
        await self._announce(key_id, "revoked")
        return record_from_row(row)

    async def delete(self, key_id: str) -> None:
        query = sql.SQL("DELETE FROM api_keys WHERE id = %s RETURNING {}").format(sql.SQL("id"))
        await self._found(key_id, query, [key_id])
        await self._announce(key_id, "deleted")

    @staticmethod
    def _inactive(record: KeyRecord) -> KeyInactiveError:
        state = "revoked" if record.revoked_at is not None else "expired"
        advice = (
            "create a new key instead"
            if state == "revoked"
            else "extend or clear its expires_at first, or create a new key"
        )
        return KeyInactiveError(
            f"API key '{record.id}' is {state}; a {state} key cannot be rotated ({advice})",
            param="id",
        )

    async def _found(
        self, key_id: str, query: sql.Composed, params: Sequence[Any]
    ) -> dict[str, Any]:
        row = await self._one(query, params)
        if row is None:
            raise KeyNotFoundError(f"no API key with id '{key_id}'", param="id")
        return row

    async def _one(self, query: sql.Composed, params: Sequence[Any]) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.cursor(row_factory=dict_row).execute(query, params)
            row: dict[str, Any] | None = await cursor.fetchone()
            return row

    async def _announce(self, key_id: str, what: str) -> None:
        _log.info("api key %s", what, extra={"key_id": key_id})
        await self._events.key_changed(key_id)

"""Keys looked up in Postgres by hash, cached per process (see ``KeyCache``).

Once a key is warm a request costs a SHA-256 and a dict lookup: no database round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from gateway.platform.errors import AuthenticationError, NotFoundError
from gateway.policy.auth._cache import KeyCache
from gateway.policy.auth._principal import Principal
from gateway.policy.keys import KEY_COLUMNS, KeyRecord, KeyService, hash_key, record_from_row

__all__ = ["DatabaseAuthenticator", "active_principal", "principal_from_record"]

_MISSING = "missing API key: send it as 'Authorization: Bearer <key>'"
_INVALID = "invalid API key"
_QUERY = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL"  # noqa: S608


def principal_from_record(record: KeyRecord) -> Principal:
    return Principal(
        key_id=record.id,
        name=record.name,
        role=record.role,
        display_prefix=record.display_prefix,
        owner=record.owner,
        allowed_models=record.allowed_models,
        allowed_tools=record.allowed_tools,
        readable_collections=record.readable_collections,
        rpm=record.rpm,
        tpm=record.tpm,
        tokens_per_day=record.tokens_per_day,
        monthly_budget_usd=record.monthly_budget_usd,
        pii_policy=record.pii_policy,
        expires_at=record.expires_at,
        metadata=record.metadata,
    )


async def active_principal(keys: KeyService, key_id: str) -> Principal | None:
    """The key's allowances now, for work the gateway does later on its behalf (a batch
    line, a background response); None once the key is revoked, expired or deleted."""
    try:
        record = await keys.get(key_id)
    except NotFoundError:
        return None
    now = datetime.now(UTC)
    if record.revoked_at is not None or (
        record.expires_at is not None and record.expires_at <= now
    ):
        return None
    return principal_from_record(record)


class DatabaseAuthenticator:
    """Authenticates against ``api_keys``; caches hits and misses in ``cache``.

    Without a cache, entries live ``ttl_s`` seconds (no cross-process invalidation); the
    gateway passes a ``KeyCache`` that a ``KeyChangeListener`` keeps coherent.
    """

    def __init__(
        self, pool: AsyncConnectionPool, *, ttl_s: float = 1.0, cache: KeyCache | None = None
    ) -> None:
        self._pool = pool
        self._cache = KeyCache(ttl_s=ttl_s, fallback_ttl_s=ttl_s) if cache is None else cache

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise AuthenticationError(_MISSING)
        digest = hash_key(token)
        found, principal = self._cache.get(digest)
        if not found:
            generation = self._cache.generation
            principal = await self._load(digest)
            self._cache.put(digest, principal, generation)
        if principal is None:
            raise AuthenticationError(_INVALID)
        if principal.expires_at is not None and principal.expires_at <= datetime.now(UTC):
            raise AuthenticationError("API key has expired", code="expired_api_key")
        return principal

    async def _load(self, digest: bytes) -> Principal | None:
        async with self._pool.connection() as conn:
            cursor = await conn.cursor(row_factory=dict_row).execute(_QUERY, (digest,))
            row = await cursor.fetchone()
        return None if row is None else principal_from_record(record_from_row(row))

"""Keys looked up in Postgres by hash, with a short per-process cache.

A first, simple authenticator: the policy work replaces the cache with one that is
invalidated across processes (see the gateway policy issue).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from gateway.auth._principal import Principal, Role
from gateway.errors import AuthenticationError
from gateway.keys import hash_key

__all__ = ["DatabaseAuthenticator"]

_MISSING = "missing API key: send it as 'Authorization: Bearer <key>'"
_INVALID = "invalid API key"


class DatabaseAuthenticator:
    """Authenticates against ``api_keys``; caches hits and misses for ``ttl_s`` seconds."""

    def __init__(self, pool: AsyncConnectionPool, *, ttl_s: float = 1.0) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise AuthenticationError(_MISSING)
        digest = hash_key(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await self._load(digest)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl_s, principal)
        if principal is None:
            raise AuthenticationError(_INVALID)
        if principal.expires_at is not None and principal.expires_at <= datetime.now(UTC):
            raise AuthenticationError("API key has expired", code="expired_api_key")
        return principal

    async def _load(self, digest: bytes) -> Principal | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, name, role, display_prefix, owner, expires_at, metadata "
                "FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL",
                (digest,),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        key_id, name, role, prefix, owner, expires_at, metadata = row
        role_value: Role = "admin" if role == "admin" else "member"
        return Principal(
            key_id=key_id,
            name=name,
            role=role_value,
            display_prefix=prefix,
            owner=owner,
            expires_at=expires_at,
            metadata=dict(metadata or {}),
        )

"""The ``idempotency_keys`` table: claims, kept answers, releases and the purge of old rows.

Every statement is one round trip and its own transaction; the row's ``owner`` (a uuid per
claim) makes sure only the attempt that claimed a key keeps an answer for it, renews its
lease or releases it, even after another process took an abandoned claim over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from configs import IdempotencySettings
from gateway.platform.errors import database_unavailable

__all__ = ["IdempotencyStore", "IdempotentRequest", "KeptAnswer", "Seen"]

_WHERE = "key_id = %(scope)s AND idempotency_key = %(key)s"
# A new key, or one whose answer expired, or one whose claim was abandoned (lease run out).
_CLAIM = """
INSERT INTO idempotency_keys AS k
       (key_id, idempotency_key, method, path, owner, state, locked_until, expires_at)
VALUES (%(scope)s, %(key)s, %(method)s, %(path)s, %(owner)s, 'running',
        now() + make_interval(secs => %(lease)s), now() + make_interval(secs => %(ttl)s))
ON CONFLICT (key_id, idempotency_key) DO UPDATE
   SET method = EXCLUDED.method, path = EXCLUDED.path, owner = EXCLUDED.owner,
       state = 'running', locked_until = EXCLUDED.locked_until, body_sha256 = NULL,
       status = NULL, content_type = NULL, body = NULL, created_at = now(),
       expires_at = EXCLUDED.expires_at
 WHERE k.expires_at <= now() OR (k.state = 'running' AND k.locked_until <= now())
RETURNING k.owner
"""
_FIND = f"""
SELECT method, path, state, locked_until > now(), body_sha256, status, content_type, body
  FROM idempotency_keys WHERE {_WHERE} AND expires_at > now()
"""  # noqa: S608 - fixed text
_RENEW = f"""
UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => %(lease)s)
 WHERE {_WHERE} AND owner = %(owner)s AND state = 'running'
"""  # noqa: S608 - fixed text
_KEEP = f"""
UPDATE idempotency_keys
   SET state = 'done', locked_until = NULL, body_sha256 = %(fingerprint)s, status = %(status)s,
       content_type = %(content_type)s, body = %(body)s
 WHERE {_WHERE} AND owner = %(owner)s AND state = 'running'
"""  # noqa: S608 - fixed text
_RELEASE = f"""
DELETE FROM idempotency_keys WHERE {_WHERE} AND owner = %(owner)s AND state = 'running'
"""  # noqa: S608 - fixed text
_PURGE = """
DELETE FROM idempotency_keys WHERE (key_id, idempotency_key) IN (
    SELECT key_id, idempotency_key FROM idempotency_keys WHERE expires_at <= now()
     ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """One request with an ``Idempotency-Key``: who sent it (the API key id) and where."""

    scope: str
    key: str
    method: str
    path: str  # with the query string, if any


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """A first answer, as it is replayed."""

    status: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Seen:
    """A key's row as a later request finds it."""

    method: str
    path: str
    live: bool  # running, and its owner renewed the lease in time
    fingerprint: bytes | None
    answer: KeptAnswer | None  # None while running


class IdempotencyStore:
    """Rows of ``idempotency_keys`` (migration 0012); database outages are 503s."""

    def __init__(self, pool: AsyncConnectionPool, settings: IdempotencySettings) -> None:
        self._pool = pool
        self._ttl_s = settings.ttl_s
        self._lease_s = settings.lease_s

    async def claim(self, request: IdempotentRequest) -> uuid.UUID | None:
        """The new claim's owner id; None while another request holds the key or its answer."""
        owner = uuid.uuid4()
        params = {
            **_params(request),
            "owner": owner,
            "lease": self._lease_s,
            "ttl": self._ttl_s,
        }
        row = await self._one(_CLAIM, params)
        return None if row is None else owner

    async def find(self, request: IdempotentRequest) -> Seen | None:
        """The key's unexpired row, if any."""
        row = await self._one(_FIND, _params(request))
        if row is None:
            return None
        method, path, state, live, fingerprint, status, content_type, body = row
        answer = None if state != "done" else KeptAnswer(status, content_type, bytes(body))
        return Seen(
            method=method,
            path=path,
            live=bool(live),
            fingerprint=None if fingerprint is None else bytes(fingerprint),
            answer=answer,
        )

    async def renew(self, request: IdempotentRequest, owner: uuid.UUID) -> bool:
        """Extend the claim's lease; False when it is no longer this owner's."""
        params = {**_params(request), "owner": owner, "lease": self._lease_s}
        return await self._count(_RENEW, params) > 0

    async def keep(
        self,
        request: IdempotentRequest,
        owner: uuid.UUID,
        *,
        fingerprint: bytes,
        answer: KeptAnswer,
    ) -> bool:
        """Keep the answer for replays; False when the claim is no longer this owner's."""
        params = {
            **_params(request),
            "owner": owner,
            "fingerprint": fingerprint,
            "status": answer.status,
            "content_type": answer.content_type,
            "body": answer.body,
        }
        return await self._count(_KEEP, params) > 0

    async def release(self, request: IdempotentRequest, owner: uuid.UUID) -> None:
        """Give the key up (no answer kept): the next request with it runs."""
        await self._count(_RELEASE, {**_params(request), "owner": owner})

    async def purge(self, *, limit: int = 500) -> int:
        """Delete up to ``limit`` expired rows; returns how many."""
        return await self._count(_PURGE, {"limit": limit})

    async def _one(self, query: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        try:
            async with self._pool.connection() as conn:
                return await (await conn.execute(query, params)).fetchone()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc

    async def _count(self, query: str, params: dict[str, Any]) -> int:
        try:
            async with self._pool.connection() as conn:
                return (await conn.execute(query, params)).rowcount
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc


def _params(request: IdempotentRequest) -> dict[str, Any]:
    return {
        "scope": request.scope,
        "key": request.key,
        "method": request.method,
        "path": request.path,
    }

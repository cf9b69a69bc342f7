"""Console sessions: server-side, in Redis, named by a random token held in an HttpOnly cookie.

The cookie carries only the token; Redis holds its sha256, so a copy of Redis does not hand
out live sessions. A session holds the signed-in key's id (never the key), its CSRF token and
when it began: every request re-reads the key, so a revoked, expired or deleted key ends
every session it opened at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from configs import ConsoleSettings
from gateway.platform.errors import RateLimitError, ServiceUnavailableError

__all__ = ["SessionData", "SessionStore", "same_token"]


@dataclass(frozen=True, slots=True)
class SessionData:
    """What a session remembers: whose it is, its CSRF token, and when it began."""

    key_id: str
    csrf: str
    started_at: float


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class SessionStore:
    """Sessions with an idle timeout (refreshed on use) and an absolute lifetime."""

    def __init__(self, redis: Redis, settings: ConsoleSettings, *, key_prefix: str) -> None:
        self._redis = redis
        self._idle_s = max(1, int(settings.idle_timeout_s))
        self._max_age_s = settings.max_age_s
        self._max_failures = settings.max_sign_in_failures
        self._prefix = f"{key_prefix}console:"

    async def start(self, key_id: str) -> tuple[str, SessionData]:
        """A new session for ``key_id``: its cookie token and its data."""
        token = secrets.token_urlsafe(32)
        data = SessionData(key_id=key_id, csrf=secrets.token_urlsafe(32), started_at=time.time())
        payload = json.dumps({"key_id": key_id, "csrf": data.csrf, "started_at": data.started_at})
        await self._call(self._redis.set(self._name(token), payload, ex=self._idle_s))
        return token, data

    async def find(self, token: str | None) -> SessionData | None:
        """The live session of a cookie token (its idle timer restarted), or None."""
        if not token or len(token) > 128:
            return None
        name = self._name(token)
        raw = await self._call(self._redis.getex(name, ex=self._idle_s))
        if raw is None:
            return None
        try:
            fields = json.loads(raw)
            data = SessionData(
                str(fields["key_id"]), str(fields["csrf"]), float(fields["started_at"])
            )
        except (ValueError, KeyError, TypeError):
            await self.end(token)
            return None
        if time.time() - data.started_at > self._max_age_s:
            await self.end(token)
            return None
        return data

    async def end(self, token: str | None) -> None:
        if token and len(token) <= 128:
            await self._call(self._redis.delete(self._name(token)))

    async def check_failures(self, client: str) -> None:
        """429 while ``client`` has used up this minute's failed sign-ins: checked before a
        key is tried, so a guess past the limit learns nothing."""
        failures = await self._call(self._redis.get(self._failures(client)))
        if failures is not None and int(failures) >= self._max_failures:
            raise RateLimitError(
                "too many failed sign-ins from this address; wait a minute",
                code="sign_in_rate_limited",
                headers={"retry-after": str(60 - int(time.time()) % 60)},
            )

    async def count_failure(self, client: str) -> None:
        """One failed sign-in from ``client`` in this minute."""
        name = self._failures(client)
        if int(await self._call(self._redis.incr(name))) == 1:
            await self._call(self._redis.expire(name, 120))

    def _failures(self, client: str) -> str:
        return f"{self._prefix}sign-in-failures:{client}:{int(time.time() // 60)}"

    def _name(self, token: str) -> str:
        return self._prefix + "session:" + hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    async def _call(pending: Any) -> Any:
        try:
            return await pending
        except (RedisError, OSError) as exc:
            raise ServiceUnavailableError(
                "console sessions are unavailable (Redis); try again shortly",
                code="sessions_unavailable",
            ) from exc

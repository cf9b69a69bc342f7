"""``/metrics``: the Prometheus exposition of this process (of all workers in multiprocess mode).

OpenMetrics (with exemplars) when the scraper's ``Accept`` asks for it, the classic text
format otherwise. With ``providers.observability.metrics_auth: admin`` it needs an admin API
key, and so does the separate ``metrics_port`` (``AdminKeyGate``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from litestar import Controller, Request, Response, get

from gateway.platform.errors import PermissionDeniedError, error_body
from gateway.policy.auth import bearer_token
from gateway.policy.keys import hash_key
from gateway.policy.observability import exposition

__all__ = ["AdminKeyGate", "MetricsController"]

_log = logging.getLogger(__name__)

_NEEDS_ADMIN = "/metrics needs an admin API key"
_QUERY = "SELECT role, expires_at FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL"


class MetricsController(Controller):
    tags = ["operations"]

    @get("/metrics", summary="Prometheus metrics", cache=False, include_in_schema=True)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        state = request.app.state
        if state.get("metrics_auth") == "admin":
            principal = await state.authenticator.authenticate(
                bearer_token(request.headers.get("authorization"))
            )
            if not principal.is_admin:
                raise PermissionDeniedError(_NEEDS_ADMIN)
        api = state.get("api")
        if api is not None:
            api.observer.flush()  # calls that ended in the last few ms count too
        # Off the event loop: multiprocess mode reads files, the budget gauges query Postgres
        # (at most every metrics.budget_refresh_s).
        body, content_type = await asyncio.to_thread(
            exposition, request.headers.get("accept"), extra=state.get("budget_gauges")
        )
        return Response(body, media_type=content_type)


class AdminKeyGate:
    """The metrics port's check when ``metrics_auth`` is admin: an admin key, as ``/metrics``.

    The port is served from threads of the ``ragway gateway`` process, which has no event
    loop of its own, so the key is looked up with a plain connection, one at a time (scrapes
    are seconds apart); the answers are those of ``/metrics`` (401 / 403, OpenAI's shape).
    """

    def __init__(self, database_url: str, *, connect_timeout_s: float) -> None:
        self._url = database_url
        self._timeout = connect_timeout_s
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None

    def __call__(self, authorization: str | None) -> tuple[int, bytes] | None:
        token = bearer_token(authorization)
        if token is None:
            return _refusal(
                401, "missing API key: send it as 'Authorization: Bearer <key>'", "invalid_api_key"
            )
        try:
            row = self._lookup(hash_key(token))
        except psycopg.Error as exc:
            _log.warning("metrics port: key lookup failed", extra={"error": type(exc).__name__})
            return _refusal(503, "the database is unavailable; try again", "database_unavailable")
        if row is None or (row[1] is not None and row[1] <= datetime.now(UTC)):
            return _refusal(401, "invalid API key", "invalid_api_key")
        if row[0] != "admin":
            return _refusal(403, _NEEDS_ADMIN, "permission_denied")
        return None

    def _lookup(self, digest: bytes) -> tuple[str, datetime | None] | None:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=max(1, int(self._timeout)),
                    prepare_threshold=None,  # works through a transaction-mode pooler too
                )
            try:
                row = self._conn.execute(_QUERY, (digest,)).fetchone()
            except psycopg.OperationalError:
                self._conn.close()  # reconnects on the next scrape
                raise
        return None if row is None else (row[0], row[1])


def _refusal(status: int, message: str, code: str) -> tuple[int, bytes]:
    error_type = "server_error" if status >= 500 else "invalid_request_error"
    return status, json.dumps(error_body(message, error_type, code=code)).encode()

"""The usage ledger as tests read it: one request's row, once the recorder has flushed it."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.support.net import wait_until

__all__ = ["ledger_row", "settled_row"]


def ledger_row(database_url: str, request_id: str) -> dict[str, Any] | None:
    """The request's ``usage_events`` row (endpoint, model, deployment, tokens, streamed,
    status), or None while it is not written."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT endpoint, model, deployment, prompt_tokens, completion_tokens, streamed, "
            "status FROM usage_events WHERE request_id = %s",
            (request_id,),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        names = [column.name for column in cursor.description or ()]
    return dict(zip(names, row, strict=True))


def settled_row(database_url: str, request_id: str, *, timeout_s: float = 10) -> dict[str, Any]:
    """The request's ledger row, waiting for the recorder to flush it."""
    found: list[dict[str, Any]] = []

    def written() -> bool:
        row = ledger_row(database_url, request_id)
        if row is not None:
            found.append(row)
        return row is not None

    wait_until(written, timeout_s=timeout_s)
    return found[-1]

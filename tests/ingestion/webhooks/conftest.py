"""Deliveries made in the session's Postgres for the worker and upkeep tests, without a
broker: each test's jobs are staged in an outbox namespace of its own, which no relay reads."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from ingestion.webhooks import WebhookEvents


@pytest.fixture
def namespace() -> str:
    return f"webhook-worker-{secrets.token_hex(4)}"


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(database_url, min_size=1, max_size=4, kwargs={"autocommit": True}) as p:
        yield p


def new_delivery(database_url: str, namespace: str, url: str) -> str:
    """An endpoint for batch.failed at ``url`` and one event for it; returns its delivery
    (other endpoints of the shared database may get theirs, in this test's namespace)."""
    endpoint_id = f"whep_{secrets.token_hex(8)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES (%s, %s, %s, %s)",
            (endpoint_id, url, ["batch.failed"], "whsec_" + "A" * 43 + "="),
        )
        with conn.transaction():
            events = WebhookEvents(namespace=namespace, queue="webhooks")
            found = events.record_sync(conn, "batch.failed", {"id": "batch_1"})
    (mine,) = [d for d in found if owner(database_url, d) == endpoint_id]
    return mine


def owner(database_url: str, delivery_id: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT endpoint_id FROM webhook_deliveries WHERE id = %s", (delivery_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def staged(database_url: str, namespace: str, delivery_id: str) -> list[float]:
    """Delays (s) of the jobs staged for the delivery, oldest first."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM available_at - created_at)::float8 FROM outbox "
            "WHERE namespace = %s AND args = %s::jsonb ORDER BY id",
            (namespace, f'["{delivery_id}"]'),
        ).fetchall()
    return [round(float(r[0])) for r in rows]


def status(database_url: str, delivery_id: str) -> tuple[Any, ...]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, attempts, last_status_code, locked_until IS NULL "
            "FROM webhook_deliveries WHERE id = %s",
            (delivery_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def age(database_url: str, delivery_id: str, **seconds: float) -> None:
    """Move the delivery's timestamps (``created_at=30`` ...) that many seconds back."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for column, back in seconds.items():
            conn.execute(
                f"UPDATE webhook_deliveries SET {column} = {column} "
                "- make_interval(secs => %s) WHERE id = %s",
                (back, delivery_id),
            )

"""Events reach receivers through a real worker, signed so that ``openai``'s own
``client.webhooks.unwrap`` verifies them, and are retried with the same ``webhook-id``."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import psycopg
from openai import OpenAI

from ingestion.webhooks import WebhookEvents
from tests.gateway.webhooks.conftest import (
    LOST_AFTER_S,
    MAX_AGE_S,
    Stack,
    add_file,
    deliveries,
    wait_for_log,
)
from tests.support.net import wait_until
from tests.support.prometheus import metric_value
from tests.support.webhook_receiver import Received, WebhookReceiver

FILE_EVENTS = ["vector_store.file.completed", "vector_store.file.failed"]
FAILED = "ragway_webhook_deliveries_failed_total"
NOTE = b"The lighthouse keeper logged three ships passing before dawn on the ninth.\n"


def about(file_id: str) -> Callable[[Received], bool]:
    return lambda got: json.loads(got.body)["data"]["id"] == file_id


def wait_for(receiver: WebhookReceiver, match: Callable[[Received], bool]) -> list[Received]:
    wait_until(lambda: any(match(r) for r in receiver.received), timeout_s=60, interval_s=0.1)
    return [r for r in receiver.received if match(r)]


def test_a_completed_file_is_delivered_and_unwrap_verifies_it(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    with WebhookReceiver() as receiver:
        endpoint = endpoints(receiver.url, FILE_EVENTS)
        store_id, file_id = add_file(stack, NOTE)
        (got,) = wait_for(receiver, about(file_id))

    event = OpenAI(api_key="unused").webhooks.unwrap(
        got.body, got.headers, secret=endpoint.signing_secret
    )
    assert event.type == "vector_store.file.completed"  # type: ignore[comparison-overlap]
    assert event.object == "event"
    assert event.id.startswith("evt_")
    assert event.data.id == file_id
    assert event.data.vector_store_id == store_id
    assert abs(event.created_at - time.time()) < 60
    assert stack.api().vector_stores.files.retrieve(file_id, vector_store_id=store_id).status == (
        "completed"
    )

    log = wait_for_log(stack, endpoint.id, lambda d: d["status"] == "delivered")
    assert log["id"] == got.webhook_id
    assert log["id"].startswith("msg_")
    assert log["event_id"] == event.id
    assert log["event_type"] == "vector_store.file.completed"
    assert (log["attempts"], log["last_status_code"], log["last_error"]) == (1, 200, None)


def test_a_file_that_fails_sends_vector_store_file_failed(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    with WebhookReceiver() as receiver:
        endpoint = endpoints(receiver.url, ["vector_store.file.failed"])
        store_id, file_id = add_file(stack, b"\n   \n\n", name="blank.txt")  # no text in it
        (got,) = wait_for(receiver, about(file_id))
    event = OpenAI(api_key="unused").webhooks.unwrap(
        got.body, got.headers, secret=endpoint.signing_secret
    )
    assert event.type == "vector_store.file.failed"  # type: ignore[comparison-overlap]
    assert event.data.vector_store_id == store_id
    status = stack.api().vector_stores.files.retrieve(file_id, vector_store_id=store_id)
    assert status.status == "failed"


def test_a_receiver_that_is_down_gets_the_event_afterwards_with_the_same_id(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    receiver = WebhookReceiver()  # not listening yet: connections are refused
    endpoint = endpoints(receiver.url, FILE_EVENTS)
    _, file_id = add_file(stack, NOTE)
    down = wait_for_log(stack, endpoint.id, lambda d: d["attempts"] >= 3)
    assert down["status"] == "retrying"
    assert down["last_status_code"] is None
    assert "ConnectError" in down["last_error"]
    assert down["next_attempt_at"] is not None
    with receiver:
        got = wait_for(receiver, about(file_id))
        log = wait_for_log(stack, endpoint.id, lambda d: d["status"] == "delivered")
    assert {r.webhook_id for r in got} == {down["id"]} == {log["id"]}
    assert log["attempts"] >= 4
    assert log["last_status_code"] == 200
    OpenAI(api_key="unused").webhooks.verify_signature(
        got[0].body, got[0].headers, secret=endpoint.signing_secret
    )


def test_a_slow_receiver_times_out_and_is_retried_with_a_fresh_timestamp(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    with WebhookReceiver(script=[("slow", 3.0)]) as receiver:  # the attempt limit is 1 s
        endpoint = endpoints(receiver.url, FILE_EVENTS)
        _, file_id = add_file(stack, NOTE)
        log = wait_for_log(stack, endpoint.id, lambda d: d["status"] == "delivered")
        first, second = wait_for(receiver, about(file_id))[:2]
    assert log["attempts"] >= 2  # (a loaded worker may let the retry time out too)
    assert first.webhook_id == second.webhook_id == log["id"]
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
    assert first.body == second.body


def test_a_receiver_that_never_accepts_fails_after_the_max_age(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    failed_before = metric_value(stack.metrics_url, FAILED, reason="retries_exhausted")
    with WebhookReceiver(status=500) as receiver:
        endpoint = endpoints(receiver.url, FILE_EVENTS)
        started = time.monotonic()
        add_file(stack, NOTE)
        log = wait_for_log(
            stack, endpoint.id, lambda d: d["status"] == "failed", timeout_s=MAX_AGE_S + 30
        )
    assert time.monotonic() - started >= MAX_AGE_S - 1
    assert log["last_status_code"] == 500
    assert log["last_error"] == "HTTP 500: ok"
    assert log["attempts"] >= 5  # waits of 0.2, 0.4, 0.8, then 1 s (+ the relay's 1 s poll)
    assert log["next_attempt_at"] is None
    assert len({r.webhook_id for r in receiver.received}) == 1
    failed = metric_value(stack.metrics_url, FAILED, reason="retries_exhausted")
    assert failed == failed_before + 1


def test_a_disabled_endpoint_gets_no_delivery(stack: Stack, endpoints: Callable[..., Any]) -> None:
    with WebhookReceiver() as on, WebhookReceiver() as off:
        enabled = endpoints(on.url, FILE_EVENTS)
        disabled = endpoints(off.url, FILE_EVENTS, extra_body={"enabled": False})
        _, file_id = add_file(stack, NOTE)
        wait_for(on, about(file_id))
        wait_for_log(stack, enabled.id, lambda d: d["status"] == "delivered")
    assert off.received == []
    assert deliveries(stack, disabled.id) == []


def lost_delivery(database_url: str, endpoint_id: str, *, overdue_s: float) -> str:
    """A ``batch.expired`` event whose delivery job nobody will run (staged in a namespace no
    relay reads), ``overdue_s`` past its attempt; returns the delivery to ``endpoint_id``."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            events = WebhookEvents(namespace=f"lost-{secrets.token_hex(4)}", queue="webhooks")
            found = events.record_sync(conn, "batch.expired", {"id": "batch_lost"})
        row = conn.execute(
            "UPDATE webhook_deliveries SET created_at = created_at - make_interval(secs => %s), "
            "next_attempt_at = next_attempt_at - make_interval(secs => %s) "
            "WHERE id = ANY(%s) AND endpoint_id = %s RETURNING id",
            (overdue_s, overdue_s, found, endpoint_id),
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_delivery_whose_job_was_lost_is_still_delivered(
    stack: Stack, endpoints: Callable[..., Any], database_url: str
) -> None:
    with WebhookReceiver() as receiver:
        endpoint = endpoints(receiver.url, ["batch.expired"])
        delivery = lost_delivery(database_url, endpoint.id, overdue_s=LOST_AFTER_S + 1)
        log = wait_for_log(stack, endpoint.id, lambda d: d["status"] == "delivered")
    assert log["id"] == delivery
    assert log["attempts"] == 1
    assert [r.webhook_id for r in receiver.received] == [delivery]


def test_a_lost_delivery_past_its_window_ends_failed_in_the_log_and_the_metric(
    stack: Stack, endpoints: Callable[..., Any], database_url: str
) -> None:
    failed_before = metric_value(stack.metrics_url, FAILED, reason="job_lost")
    with WebhookReceiver() as receiver:
        endpoint = endpoints(receiver.url, ["batch.expired"])
        past = MAX_AGE_S + LOST_AFTER_S + 1
        delivery = lost_delivery(database_url, endpoint.id, overdue_s=past)
        log = wait_for_log(stack, endpoint.id, lambda d: d["status"] == "failed")
    assert log["id"] == delivery
    assert log["attempts"] == 0
    assert log["next_attempt_at"] is None
    assert "job was lost" in log["last_error"]
    assert receiver.received == []
    wait_until(
        lambda: metric_value(stack.metrics_url, FAILED, reason="job_lost") > failed_before,
        timeout_s=10,
    )

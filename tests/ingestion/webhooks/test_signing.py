"""Our signatures are Standard Webhooks: ``openai``'s own ``client.webhooks.unwrap`` accepts
them, and refuses them once anything signed changes."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from openai import InvalidWebhookSignatureError, OpenAI

from ingestion.webhooks import event_body, new_secret, secret_hint, signed_headers

CLIENT = OpenAI(api_key="sk-unused", base_url="http://127.0.0.1:9/v1")


def body() -> bytes:
    data = {"id": "batch_abc"}
    return event_body("evt_1", "batch.completed", datetime.now(UTC), data)


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret
    assert secret_hint(secret) == "whsec_****" + secret[-4:]


def test_unwrap_accepts_a_signed_event() -> None:
    secret = new_secret()
    payload = body()
    headers = signed_headers([secret], "msg_1", int(time.time()), payload)
    event = CLIENT.webhooks.unwrap(payload, headers, secret=secret)
    assert event.type == "batch.completed"
    assert event.id == "evt_1"
    assert event.data.id == "batch_abc"
    assert headers["content-type"] == "application/json"


def test_unwrap_refuses_another_secret_body_or_id() -> None:
    secret = new_secret()
    payload = body()
    headers = signed_headers([secret], "msg_1", int(time.time()), payload)
    with pytest.raises(InvalidWebhookSignatureError):
        CLIENT.webhooks.unwrap(payload, headers, secret=new_secret())
    with pytest.raises(InvalidWebhookSignatureError):
        CLIENT.webhooks.unwrap(payload.replace(b"abc", b"abd"), headers, secret=secret)
    with pytest.raises(InvalidWebhookSignatureError):
        CLIENT.webhooks.unwrap(payload, {**headers, "webhook-id": "msg_2"}, secret=secret)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    payload = body()
    headers = signed_headers([new, old], "msg_1", int(time.time()), payload)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        CLIENT.webhooks.verify_signature(payload, headers, secret=secret)

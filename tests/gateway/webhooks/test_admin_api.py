"""``/admin/webhooks`` through ``openai``'s own ``client.webhooks`` resource (base URL
``<gateway>/admin``): endpoints, secrets shown once, test events, and the SSRF guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai import BadRequestError, NotFoundError, OpenAI, PermissionDeniedError

from tests.gateway.webhooks.conftest import Stack
from tests.support.webhook_receiver import WebhookReceiver

UNWRAP = OpenAI(api_key="unused").webhooks


def test_an_endpoint_is_created_read_changed_and_deleted(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    admin = stack.admin()
    created = endpoints("http://127.0.0.1:9/hooks", ["batch.completed", "response.failed"])
    assert created.object == "webhook_endpoint"
    assert created.id.startswith("whep_")
    assert created.signing_secret.startswith("whsec_")
    assert created.signing_secret_hint == "whsec_****" + created.signing_secret[-4:]
    assert created.event_types == ["batch.completed", "response.failed"]

    read = admin.webhooks.retrieve(created.id)
    assert "signing_secret" not in read.model_dump()  # shown in the create answer only
    assert read.signing_secret_hint == created.signing_secret_hint
    assert read.updated_at == created.updated_at

    same = admin.webhooks.update(created.id, name="test")  # nothing changed
    assert same.updated_at == created.updated_at
    changed = admin.webhooks.update(
        created.id, name="renamed", event_types=["batch.failed"], extra_body={"enabled": False}
    )
    assert (changed.name, changed.event_types) == ("renamed", ["batch.failed"])
    assert changed.model_dump()["enabled"] is False

    listed = [e.id for e in admin.webhooks.list(limit=100).data]
    assert created.id in listed

    deleted = admin.webhooks.delete(created.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (
        created.id,
        True,
        "webhook_endpoint.deleted",
    )
    with pytest.raises(NotFoundError):
        admin.webhooks.retrieve(created.id)


def test_list_pages_with_cursors(stack: Stack, endpoints: Callable[..., Any]) -> None:
    made = [endpoints("http://127.0.0.1:9/hooks", ["batch.failed"]).id for _ in range(3)]
    admin = stack.admin()
    first = admin.webhooks.list(limit=2)
    assert len(first.data) == 2
    assert first.has_more
    seen = [e.id for e in admin.webhooks.list(limit=100).data]
    assert seen[:3] == made[::-1]  # newest first
    after = admin.webhooks.list(limit=1, after=made[2])
    assert [e.id for e in after.data] == [made[1]]


def test_a_test_event_is_signed_and_rotation_can_keep_the_old_secret(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    admin = stack.admin()
    with WebhookReceiver(status=204) as receiver:
        endpoint = endpoints(receiver.url, ["batch.completed"])
        result = admin.webhooks.test(endpoint.id, event_type="batch.completed")
        assert (result.object, result.status_code, result.success) == (
            "webhook_endpoint.test",
            204,
            True,
        )
        assert result.webhook_endpoint_id == endpoint.id
        event = UNWRAP.unwrap(
            receiver.received[0].body, receiver.received[0].headers, secret=endpoint.signing_secret
        )
        assert event.type == "batch.completed"

        rotated = admin.webhooks.rotate_secret(
            endpoint.id, keep_old_secret_active_for_24_hours=True
        )
        assert rotated.signing_secret != endpoint.signing_secret
        admin.webhooks.test(endpoint.id, event_type="response.completed")
        got = receiver.received[1]
        for secret in (endpoint.signing_secret, rotated.signing_secret):
            UNWRAP.verify_signature(got.body, got.headers, secret=secret)

        final = admin.webhooks.rotate_secret(endpoint.id)
        admin.webhooks.test(endpoint.id, event_type="batch.failed")
        got = receiver.received[2]
        UNWRAP.verify_signature(got.body, got.headers, secret=final.signing_secret)
        assert len(got.headers["webhook-signature"].split()) == 1
    assert [e.id for e in (endpoint, rotated, final)] == [endpoint.id] * 3


def test_a_test_event_to_a_receiver_that_is_down_is_a_502(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    endpoint = endpoints(WebhookReceiver().url, ["batch.completed"])
    response = httpx.post(
        f"{stack.url}/admin/webhooks/{endpoint.id}/test",
        json={"event_type": "batch.completed"},
        headers={"authorization": f"Bearer {stack.admin_key}"},
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "webhook_test_failed"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://10.0.0.1/hooks", "private_target"),
        ("http://169.254.169.254/latest/meta-data", "private_target"),
        ("http://[::ffff:127.0.0.1]:8080/", "private_target"),
        ("http://localhost:8080/hooks", "private_target"),  # a name resolving to loopback
        ("ftp://example.com/hooks", "invalid_url"),
        ("https://user:pw@example.com/hooks", "invalid_url"),
        ("https://no-such-host.invalid/hooks", "unresolvable_host"),
    ],
)
def test_targets_that_are_not_public_are_refused(stack: Stack, url: str, code: str) -> None:
    strict = stack.admin(strict=True)
    with pytest.raises(BadRequestError) as refused:
        strict.webhooks.create(name="x", url=url, event_types=["batch.completed"])
    assert refused.value.code == code
    assert refused.value.param == "url"


def test_a_change_to_a_private_target_is_refused(
    stack: Stack, endpoints: Callable[..., Any]
) -> None:
    endpoint = endpoints("http://127.0.0.1:9/hooks", ["batch.completed"])
    with pytest.raises(BadRequestError) as refused:
        stack.admin(strict=True).webhooks.update(endpoint.id, url="http://192.168.0.10/")
    assert refused.value.code == "private_target"


def test_unknown_event_types_and_fields_are_a_400(stack: Stack) -> None:
    admin = stack.admin()
    for types in (["file.created"], []):
        with pytest.raises(BadRequestError):
            admin.webhooks.create(
                name="x",
                url="http://127.0.0.1:9/",
                event_types=types,  # type: ignore[arg-type]
            )
    with pytest.raises(BadRequestError):
        admin.webhooks.create(
            name="x", url="http://127.0.0.1:9/", event_types=["batch.failed"], extra_body={"x": 1}
        )
    listed = admin.get("/webhook_event_types", cast_to=dict)
    assert "vector_store.file.completed" in listed["data"]


def test_only_admin_keys_manage_webhooks(stack: Stack) -> None:
    member = stack.admin(key=stack.member_key)
    with pytest.raises(PermissionDeniedError):
        member.webhooks.list()
    with pytest.raises(PermissionDeniedError):
        member.webhooks.create(name="x", url="http://127.0.0.1:9/", event_types=["batch.failed"])


def test_create_refuses_an_idempotency_key(stack: Stack) -> None:
    with pytest.raises(BadRequestError):
        stack.admin().webhooks.create(
            name="x",
            url="http://127.0.0.1:9/",
            event_types=["batch.failed"],
            extra_headers={"Idempotency-Key": "once"},
        )


def test_the_delivery_log_of_an_unknown_endpoint_is_a_404(stack: Stack) -> None:
    with pytest.raises(NotFoundError):
        stack.admin().get("/webhooks/whep_nope/deliveries", cast_to=dict)

"""One delivery attempt against a real receiver on loopback: delivered, refused, bounded."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

from configs import WebhookSettings
from ingestion.webhooks import WebhookSender
from tests.support.tls import make_ca
from tests.support.webhook_receiver import WebhookReceiver

HEADERS = {"webhook-id": "msg_test", "content-type": "application/json"}


def sender(**settings: object) -> WebhookSender:
    values: dict[str, object] = {"allow_private_targets": True, "timeout_s": 2.0, **settings}
    return WebhookSender(WebhookSettings.model_validate(values))


async def test_a_2xx_answer_is_delivered_with_the_headers_sent() -> None:
    with WebhookReceiver() as receiver:
        attempt = await sender().send(receiver.url, b'{"a":1}', HEADERS)
    assert attempt.delivered
    assert attempt.status_code == 200
    assert attempt.error is None
    (got,) = receiver.received
    assert got.body == b'{"a":1}'
    assert got.webhook_id == "msg_test"
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"


async def test_an_error_answer_is_a_failed_attempt_with_its_status() -> None:
    with WebhookReceiver(status=503) as receiver:
        attempt = await sender().send(receiver.url, b"{}", HEADERS)
    assert not attempt.delivered
    assert attempt.status_code == 503
    assert attempt.error == "HTTP 503: ok"


async def test_a_redirect_is_not_followed() -> None:
    with WebhookReceiver(status=307) as receiver:
        attempt = await sender().send(receiver.url, b"{}", HEADERS)
    assert attempt.status_code == 307
    assert not attempt.delivered
    assert len(receiver.received) == 1


async def test_a_receiver_that_is_down_is_a_failed_attempt() -> None:
    receiver = WebhookReceiver()  # never started: nothing listens on its port
    attempt = await sender().send(receiver.url, b"{}", HEADERS)
    assert attempt.status_code is None
    assert attempt.error is not None
    assert "ConnectError" in attempt.error


async def test_a_slow_receiver_times_out_within_the_limit() -> None:
    with WebhookReceiver(status=200, script=[("slow", 5.0)]) as receiver:
        started = time.monotonic()
        attempt = await sender(timeout_s=0.5).send(receiver.url, b"{}", HEADERS)
        took = time.monotonic() - started
    assert attempt.status_code is None
    assert attempt.error == "timed out after 0.5s"
    assert took < 2.0


async def test_a_private_target_is_refused_at_delivery_and_never_contacted() -> None:
    with WebhookReceiver() as receiver:
        for url in (receiver.url, f"http://localhost:{receiver.port}/hooks"):
            attempt = await sender(allow_private_targets=False).send(url, b"{}", HEADERS)
            assert attempt.status_code is None
            assert attempt.error is not None
            assert "not a public address" in attempt.error
    assert receiver.received == []


async def test_https_connects_to_the_checked_address_with_the_hosts_name(tmp_path: Path) -> None:
    files = make_ca(tmp_path / "tls")
    trust = ssl.create_default_context(cafile=str(files.ca))
    with WebhookReceiver(tls=files.server_context()) as receiver:
        attempt = await WebhookSender(
            WebhookSettings(allow_private_targets=True, timeout_s=5), verify=trust
        ).send(receiver.url, b"{}", HEADERS)
    assert attempt.delivered, attempt.error
    assert receiver.server_names == ["localhost"]  # SNI: the name, not the address
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


async def test_https_with_an_untrusted_certificate_fails(tmp_path: Path) -> None:
    files = make_ca(tmp_path / "tls")
    with WebhookReceiver(tls=files.server_context()) as receiver:
        attempt = await sender().send(receiver.url, b"{}", HEADERS)
    assert attempt.status_code is None
    assert attempt.error is not None
    assert receiver.received == []

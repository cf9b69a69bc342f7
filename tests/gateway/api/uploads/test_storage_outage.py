"""A bucket that cannot be reached: the gateway stays up, and what needs the bucket is a
retryable 503 ``storage_unavailable`` within the bounded timeouts, never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.api.uploads.conftest import Stack
from tests.support.net import free_port
from tests.support.processes import GatewayProcess


@pytest.fixture(scope="module")
def unreachable_url(s3_env: dict[str, str]) -> Iterator[str]:
    """A gateway on the same database whose endpoint nothing listens on."""
    env = {
        **s3_env,
        "RAGWAY_INGESTION__STORAGE__ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "RAGWAY_INGESTION__STORAGE__MAX_ATTEMPTS": "2",
        "RAGWAY_INGESTION__STORAGE__CONNECT_TIMEOUT_S": "0.5",
    }
    log = Path(s3_env["RAGWAY_DATA_DIR"]).parent / "gateway-unreachable.log"
    with GatewayProcess(env, log) as gateway:  # ready: start-up does not need the bucket
        yield gateway.url


def test_an_unreachable_bucket_is_a_503_not_a_500(unreachable_url: str, local_stack: Stack) -> None:
    stack = local_stack  # a file's row and key; its bytes are looked for in the bucket
    headers = {"authorization": f"Bearer {stack.admin_key}"}
    stored = stack.client().files.create(file=("kept.txt", b"kept"), purpose="assistants")
    started = time.monotonic()
    answers = [
        httpx.post(
            f"{unreachable_url}/v1/files",
            files={"file": ("x.txt", b"new bytes")},
            data={"purpose": "assistants"},
            headers=headers,
            timeout=30,
        ),
        httpx.get(f"{unreachable_url}/v1/files/{stored.id}/content", headers=headers, timeout=30),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "storage_unavailable"
        assert answer.headers["retry-after"] == "1"
    assert time.monotonic() - started < 20
    # what needs no bytes still works
    listed = httpx.get(f"{unreachable_url}/v1/files/{stored.id}", headers=headers)
    assert listed.status_code == 200

"""The separate metrics port asks what ``/metrics`` asks (issue 16, finding 7): with
``metrics_auth: admin`` only an admin API key reads it, on a ``ragway gateway`` process."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.api.conftest import insert_key
from tests.support.net import free_port
from tests.support.servers import start_process


@pytest.fixture(scope="module")
def ports(stack_env: dict[str, str]) -> Iterator[tuple[int, int]]:
    port, metrics_port = free_port(), free_port()
    env = {
        **stack_env,
        "RAGWAY_GATEWAY__PORT": str(port),
        "RAGWAY_PROVIDERS__OBSERVABILITY__METRICS_AUTH": "admin",
        "RAGWAY_PROVIDERS__OBSERVABILITY__METRICS_PORT": str(metrics_port),
    }
    process = start_process(["gateway"], env, ready_url=f"http://127.0.0.1:{port}/readyz")
    yield port, metrics_port
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@pytest.mark.parametrize("which", ["gateway", "metrics_port"])
def test_only_an_admin_key_reads_the_metrics(
    ports: tuple[int, int], database_url: str, which: str
) -> None:
    port = ports[0] if which == "gateway" else ports[1]
    url = f"http://127.0.0.1:{port}/metrics"
    admin = insert_key(database_url, role="admin")
    member = insert_key(database_url)

    def get(key: str | None) -> httpx.Response:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.get(url, headers=headers, timeout=10)

    assert get(None).status_code == 401
    assert get("sk-rgw-" + "x" * 43).status_code == 401
    refused = get(member)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    allowed = get(admin)
    assert allowed.status_code == 200
    assert "ragway_requests_total" in allowed.text or "python_info" in allowed.text

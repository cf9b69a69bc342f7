"""Two gateway processes on one Postgres and one Redis: the session's in-thread gateway (A)
and a ``ragway gateway`` subprocess (B). Key changes made through A reach B within a second;
a key's quota is exact across both; usage from both reaches ``GET /admin/usage``."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
import yaml

from tests.gateway.admin.conftest import PolicyGateway
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.servers import start_process


@pytest.fixture(scope="module")
def second_gateway(
    policy_gateway: PolicyGateway,
    policy_upstream: FakeOpenAI,
    stack_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    config = tmp_path_factory.mktemp("gateway-b") / "providers.yaml"
    config.write_text(yaml.safe_dump({"providers": priced_providers(policy_upstream.base_url)}))
    port = free_port()
    env = {
        **stack_env,
        **UPSTREAM_ENV,
        "RAGWAY_CONFIG": str(config),
        "RAGWAY_GATEWAY__PORT": str(port),
    }
    base_url = f"http://127.0.0.1:{port}"
    process = start_process(["gateway"], env, ready_url=f"{base_url}/readyz")
    yield base_url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def status_of(base_url: str, path: str, key: str) -> int:
    return httpx.get(f"{base_url}{path}", headers={"authorization": f"Bearer {key}"}).status_code


def seconds_until(condition: object, *, limit_s: float = 5.0) -> float:
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - start > limit_s:
            raise AssertionError(f"not within {limit_s}s")
        time.sleep(0.01)
    return time.monotonic() - start


def test_changes_reach_the_other_process_within_a_second(
    policy_gateway: PolicyGateway, second_gateway: str
) -> None:
    a = httpx.Client(
        base_url=f"{policy_gateway.base_url}/admin",
        headers={"authorization": f"Bearer {policy_gateway.admin_key}"},
    )
    created = a.post("/keys", json={"name": "moving", "role": "member"}).json()
    key, key_id = created["key"], created["id"]
    assert status_of(second_gateway, "/admin/keys", key) == 403  # warm in B as a member

    a.patch(f"/keys/{key_id}", json={"role": "admin"}).raise_for_status()
    assert seconds_until(lambda: status_of(second_gateway, "/admin/keys", key) == 200) < 1.0

    a.post(f"/keys/{key_id}/revoke").raise_for_status()
    assert seconds_until(lambda: status_of(second_gateway, "/admin/keys", key) == 401) < 1.0


async def test_a_key_quota_is_exact_across_both_processes(
    policy_gateway: PolicyGateway, second_gateway: str
) -> None:
    async with httpx.AsyncClient(
        base_url=f"{policy_gateway.base_url}/admin",
        headers={"authorization": f"Bearer {policy_gateway.admin_key}"},
    ) as a:
        created = (await a.post("/keys", json={"name": "hammered", "rpm": 25})).json()
    clients = [
        openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=created["key"], max_retries=0)
        for url in (policy_gateway.base_url, second_gateway)
    ]

    async def one(client: openai.AsyncOpenAI) -> int | dict[str, str]:
        try:
            raw = await client.chat.completions.with_raw_response.create(
                model="chat", messages=[{"role": "user", "content": "hello there"}], max_tokens=5
            )
        except openai.RateLimitError as exc:
            return {k.lower(): v for k, v in exc.response.headers.items()}
        assert raw.headers["x-ratelimit-limit-requests"] == "25"
        return int(raw.headers["x-ratelimit-remaining-requests"])

    results = await asyncio.gather(*(one(clients[i % 2]) for i in range(60)))
    remaining = sorted(r for r in results if isinstance(r, int))
    assert remaining == list(range(25))  # each admitted request saw its own count
    refused = [r for r in results if isinstance(r, dict)]
    assert len(refused) == 35
    for headers in refused:
        assert int(headers["retry-after"]) >= 1
        assert headers["x-ratelimit-limit-hit"] == "rpm"
        assert headers["x-ratelimit-remaining-requests"] == "0"
    for client in clients:
        await client.close()

    async with httpx.AsyncClient(
        base_url=f"{policy_gateway.base_url}/admin",
        headers={"authorization": f"Bearer {policy_gateway.admin_key}"},
    ) as a:
        for _ in range(100):  # each process writes its usage within flush_interval_s
            rows = (
                await a.get("/usage", params={"key_id": created["id"], "group_by": "key,model"})
            ).json()["data"]
            if rows and rows[0]["requests"] == 60:
                break
            await asyncio.sleep(0.1)
    assert len(rows) == 1
    row = rows[0]
    assert (row["requests"], row["errors"], row["model"], row["key_name"]) == (
        60,
        35,
        "chat",
        "hammered",
    )
    assert row["prompt_tokens"] > 0
    # chat-a costs 1000 USD/M in and 2000 USD/M out.
    expected = (row["prompt_tokens"] * 1000 + row["completion_tokens"] * 2000) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)

"""A ``ragway gateway`` on Redis Sentinel under quota traffic while its master is SIGKILLed:
the sentinels fail over within the configured time, the gateway answers again right after,
and the quota counter holds every accepted request exactly once.

Quotas fail closed here (``on_redis_error: closed``), so a request is either counted in
Redis and served, or refused with 503: nothing is counted in the process on the side. A
request cut off by the kill (its script may have run on the old master and replicated, but
its answer was lost) is refused and may still be counted: that is the only way the counter
may exceed the accepted requests, and never by more than the requests cut off.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.processes import GatewayProcess, insert_key
from tests.support.sentinel import DOWN_AFTER_MS, SentinelCluster

UPSTREAM_KEY_ENV = "SENTINEL_UPSTREAM_KEY"
CLIENTS = 4
FAILOVER_WITHIN_S = DOWN_AFTER_MS / 1000 + 9
ANSWERS_AGAIN_WITHIN_S = 3.0  # after the sentinels name the new master
REDIS_RETRY_S = 0.2


@dataclass(frozen=True)
class Reply:
    sent: float
    at: float
    status: int  # 0: no HTTP answer
    code: str | None


@dataclass
class Traffic:
    """``CLIENTS`` threads sending small chat completions back to back."""

    url: str
    key: str
    replies: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        body = {"model": "chat", "messages": [{"role": "user", "content": "ping"}]}
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(timeout=15) as http:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    response = http.post(
                        f"{self.url}/v1/chat/completions", json=body, headers=headers
                    )
                except httpx.TransportError:
                    self.replies.append(Reply(sent, time.monotonic(), 0, None))
                    continue
                code = None
                if response.status_code != 200:
                    code = (response.json().get("error") or {}).get("code")
                self.replies.append(Reply(sent, time.monotonic(), response.status_code, code))
                time.sleep(0.01)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def gateway_env(
    sentinels: SentinelCluster, database_url: str, upstream: FakeOpenAI, tmp_path: Path
) -> dict[str, str]:
    token = secrets.token_hex(4)
    deployment = {
        "provider": "openai",
        "base_url": upstream.base_url,
        "api_key_env": UPSTREAM_KEY_ENV,
    }
    models = {"chat": {"deployments": [{"name": "chat-a", "model": "gpt-test", **deployment}]}}
    return {
        **sentinels.env(),
        UPSTREAM_KEY_ENV: "sk-upstream-sentinel-" + "s" * 20,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
        "DATABASE_URL": database_url,
        "RAGWAY_REDIS__KEY_PREFIX": f"sentinel-{token}:",
        "RAGWAY_REDIS__SOCKET_TIMEOUT_S": "1",
        "RAGWAY_WORKER__NAMESPACE": f"sentinel-dramatiq-{token}",
        "RAGWAY_POLICY__QUOTAS__ON_REDIS_ERROR": "closed",
        "RAGWAY_POLICY__QUOTAS__REDIS_RETRY_S": str(REDIS_RETRY_S),
        "RAGWAY_DATA_DIR": str(tmp_path / "data"),
        "RAGWAY_LOGGING__LEVEL": "INFO",
        "RAGWAY_CONFIG": "",
    }


def test_the_gateway_rides_through_a_master_kill_with_exact_quota_counts(
    sentinels: SentinelCluster, database_url: str, upstream: FakeOpenAI, tmp_path: Path
) -> None:
    env = gateway_env(sentinels, database_url, upstream, tmp_path)
    key_id, key = insert_key(database_url, "sentinel-quota", role="member", rpm=1_000_000)
    log_path = tmp_path / "gateway.log"
    with (
        GatewayProcess(env, log_path) as gateway,
        Traffic(gateway.url, key) as load,
    ):
        time.sleep(2.0)  # steady traffic on the first master
        before = sum(1 for r in list(load.replies) if r.status == 200)
        killed_at = time.monotonic()
        old = sentinels.kill_master()
        dead_at = time.monotonic()  # the old master's process has exited
        failover_s = sentinels.wait_failover(old, timeout_s=FAILOVER_WITHIN_S)
        named_at = time.monotonic()
        # The gateway answers again: the first 200 sent after the new master was named.
        deadline = named_at + ANSWERS_AGAIN_WITHIN_S + 10
        while not any(r.status == 200 and r.sent >= named_at for r in list(load.replies)):
            assert time.monotonic() < deadline, "no answer after the fail-over"
            time.sleep(0.02)
        first_ok = min(r.at for r in list(load.replies) if r.status == 200 and r.sent >= named_at)
        time.sleep(2.0)  # steady traffic on the new master
    replies = list(load.replies)
    log = log_path.read_text()

    assert before > 20, before
    assert failover_s < FAILOVER_WITHIN_S
    answers_again_s = first_ok - named_at
    assert answers_again_s < ANSWERS_AGAIN_WITHIN_S, answers_again_s
    refused = [r for r in replies if r.status != 200]
    assert {(r.status, r.code) for r in refused} <= {(503, "quota_unavailable")}, refused
    assert all(r.at >= killed_at for r in refused)  # refused only from the kill on

    accepted = sum(1 for r in replies if r.status == 200)
    # In flight when it was killed: sent before its process had exited (the kill follows
    # ``killed_at`` by the sentinels' answer where the master is, so a request sent in
    # between may run its script on the old master, replicate, and lose its answer).
    cut_off = sum(1 for r in refused if r.sent < dead_at)
    new = sentinels.master_port()
    with sentinels.data_client(new) as client:
        counted = int(
            client.hget(f"{env['RAGWAY_REDIS__KEY_PREFIX']}quota:{{{key_id}}}:minute", "r")
        )
    print(
        f"accepted {accepted}, counted {counted}, cut off {cut_off}, refused {len(refused)}; "
        f"fail-over {failover_s:.2f}s, answering {answers_again_s:.2f}s after it"
    )
    assert accepted <= counted <= accepted + cut_off
    assert "quota store recovered" in log

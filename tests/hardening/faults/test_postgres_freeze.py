"""Postgres frozen (every process SIGSTOPped, as a network partition looks) under a gateway.

A frozen server accepts connections and never answers, so nothing but the gateway's own
bounds ends a request: each one that needs Postgres gets 503 ``database_unavailable``
within ``database.acquire_timeout_s`` (+1 s), ``/readyz`` answers 503 within its own
timeout, and once the server runs again everything answers 200 with no restart.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from gateway.entry.runtime import EmbeddedPostgres
from tests.hardening.faults.conftest import process_env
from tests.hardening.faults.freeze import frozen
from tests.hardening.faults.stack import write_config
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.processes import GatewayProcess, insert_key
from tests.support.services import RedisForTests

ACQUIRE_TIMEOUT_S = 1.5
READINESS_TIMEOUT_S = 2.0  # gateway/entry/app.py's ReadinessService


def timed(request: httpx.Request) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    with httpx.Client(timeout=10) as http:
        response = http.send(request)
    return time.monotonic() - started, response


def test_a_frozen_postgres_gets_503_within_the_bounds_and_recovers(
    own_postgres: EmbeddedPostgres,
    redis_service: RedisForTests,
    fault_upstream: FakeOpenAI,
    embed_upstream: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = own_postgres.start()
    database = {
        "acquire_timeout_s": ACQUIRE_TIMEOUT_S,
        "answer_timeout_s": 1.0,
        "statement_timeout_s": 1.0,
        "connect_timeout_s": 1,
        "pool_min_size": 2,
    }
    config = write_config(tmp_path / "ragway.json", embedder=embed_upstream, database=database)
    env = {
        **process_env(
            database_url=database_url,
            redis=redis_service,
            upstream=fault_upstream,
            config=config,
            tmp_path=tmp_path,
            name="pgfreeze",
        ),
    }
    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        _, admin = insert_key(database_url, "freeze-admin")
        _, member = insert_key(database_url, "freeze-member", role="member", readable=())
        chat_body = {"model": "chat", "messages": [{"role": "user", "content": "hello"}]}

        def requests() -> dict[str, httpx.Request]:
            as_admin = {"Authorization": f"Bearer {admin}"}
            return {
                "chat": httpx.Request(
                    "POST",
                    f"{gateway.url}/v1/chat/completions",
                    json=chat_body,
                    headers={"Authorization": f"Bearer {member}"},
                ),
                "vector_stores": httpx.Request(
                    "GET", f"{gateway.url}/v1/vector_stores", headers=as_admin
                ),
                "usage": httpx.Request("GET", f"{gateway.url}/admin/usage", headers=as_admin),
            }

        # The admin key is known and the pool holds idle connections that look healthy.
        for name in ("vector_stores", "usage"):
            assert timed(requests()[name])[1].status_code == 200, name

        with frozen(database_url):
            for name, request in requests().items():  # the member key was never seen
                took, response = timed(request)
                assert response.status_code == 503, (name, response.text)
                assert response.json()["error"]["code"] == "database_unavailable", name
                assert took < ACQUIRE_TIMEOUT_S + 1, (name, took)
            took, ready = timed(httpx.Request("GET", f"{gateway.url}/readyz"))
            assert ready.status_code == 503
            assert ready.json()["checks"]["postgres"]["ok"] is False
            assert took < READINESS_TIMEOUT_S + 0.5, took

        def all_ok() -> bool:
            readyz = httpx.get(f"{gateway.url}/readyz", timeout=10).status_code
            answers = [timed(request)[1].status_code for request in requests().values()]
            return [readyz, *answers] == [200] * 4

        wait_until(all_ok, timeout_s=10, interval_s=0.2)

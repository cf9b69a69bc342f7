"""``/healthz`` and ``/readyz`` against real Postgres and Redis, including outages and recovery."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from configs import Settings
from gateway.entry.app import create_app
from gateway.entry.runtime import EmbeddedPostgres, EmbeddedRedis
from ingestion.db import migrate
from tests.support.net import free_port, wait_until
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests


def ready_status(base_url: str) -> int:
    return httpx.get(f"{base_url}/readyz", timeout=10).status_code


def test_healthz_and_readyz_when_everything_is_up(gateway_url: str) -> None:
    assert httpx.get(f"{gateway_url}/healthz").json() == {"status": "ok"}
    response = httpx.get(f"{gateway_url}/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


def test_openapi_schema_is_served(gateway_url: str) -> None:
    schema = httpx.get(f"{gateway_url}/openapi/openapi.json").json()
    assert "/readyz" in schema["paths"]


def test_metrics_are_exposed(gateway_url: str) -> None:
    response = httpx.get(f"{gateway_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "python_info" in response.text or "process_" in response.text


def readyz(base_url: str) -> tuple[int, str]:
    response = httpx.get(f"{base_url}/readyz", timeout=10)
    return response.status_code, response.json()["status"]


def fail_closed(settings: Settings) -> Settings:
    quotas = settings.policy.quotas.model_copy(update={"on_redis_error": "closed"})
    policy = settings.policy.model_copy(update={"quotas": quotas})
    return settings.model_copy(update={"policy": policy})


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_readyz_names_redis_when_it_is_down_and_recovers(
    settings: Settings, database_url: str, tmp_path: Path, mode: str
) -> None:
    """Quotas failing closed need Redis to serve: 503. Failing open, the gateway serves on
    without it: 200 ``degraded``, so that load balancers keep every gateway in rotation."""
    port = free_port()
    chosen = fail_closed(settings) if mode == "closed" else settings
    app = create_app(chosen, database_url=database_url, redis_url=f"redis://127.0.0.1:{port}/0")
    down = (503, "unavailable") if mode == "closed" else (200, "degraded")
    with ServerThread(app) as server:
        response = httpx.get(f"{server.base_url}/readyz", timeout=10)
        assert (response.status_code, response.json()["status"]) == down
        body = response.json()
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["redis"]["required"] is (mode == "closed")
        assert body["checks"]["postgres"]["ok"] is True
        assert "redis" in body["message"]

        redis_server = EmbeddedRedis(tmp_path / "redis", port=port, persist=False)
        redis_server.start()
        try:
            wait_until(lambda: readyz(server.base_url) == (200, "ready"), timeout_s=15)
        finally:
            redis_server.stop()
        wait_until(lambda: readyz(server.base_url) == down, timeout_s=15)


def test_readyz_names_postgres_when_it_is_down_and_recovers(
    settings: Settings, redis_service: RedisForTests, tmp_path: Path
) -> None:
    folder = tmp_path / "pg"
    postgres = EmbeddedPostgres(folder)
    url = postgres.start(database="ragway")
    asyncio.run(migrate(url))
    database = settings.database.model_copy(update={"acquire_timeout_s": 1.0})
    app = create_app(
        settings.model_copy(update={"database": database}),
        database_url=url,
        redis_url=redis_service.url,
    )
    with ServerThread(app) as server:
        assert ready_status(server.base_url) == 200
        postgres.stop()
        response = httpx.get(f"{server.base_url}/readyz", timeout=10)
        assert response.status_code == 503
        assert response.json()["checks"]["postgres"]["ok"] is False
        assert "postgres" in response.json()["message"]
        # A key not in the cache needs the database: 503 (retryable) within the acquire
        # timeout, on the hot path and on the Litestar routes alike -- not a 500 after 30 s.
        sdk = OpenAI(base_url=f"{server.base_url}/v1", api_key="sk-rgw-" + "x" * 40, max_retries=0)
        for call in (
            lambda: sdk.models.list(),
            lambda: sdk.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            ),
        ):
            started = time.monotonic()
            with pytest.raises(openai.InternalServerError) as refused:
                call()
            assert refused.value.status_code == 503
            assert refused.value.code == "database_unavailable"
            assert time.monotonic() - started < 5

        restarted = EmbeddedPostgres(folder)
        assert restarted.start(database="ragway") == url
        try:
            wait_until(lambda: ready_status(server.base_url) == 200, timeout_s=30)
        finally:
            restarted.stop()


def test_readyz_answers_within_its_configured_timeout_when_redis_is_frozen(
    settings: Settings, database_url: str
) -> None:
    """A Redis that accepts connections and never answers (frozen, partitioned): /readyz
    names it within ``gateway.readiness_timeout_s``, not the client's socket timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes connections; nobody ever reads them
        port = silent.getsockname()[1]
        gateway = settings.gateway.model_copy(update={"readiness_timeout_s": 0.5})
        chosen = fail_closed(settings.model_copy(update={"gateway": gateway}))
        app = create_app(chosen, database_url=database_url, redis_url=f"redis://127.0.0.1:{port}/0")
        with ServerThread(app) as server:
            started = time.monotonic()
            response = httpx.get(f"{server.base_url}/readyz", timeout=10)
            elapsed = time.monotonic() - started
    assert response.status_code == 503
    redis = response.json()["checks"]["redis"]
    assert redis["ok"] is False
    assert "no answer within 0.5s" in redis["error"]
    assert elapsed < 1.5

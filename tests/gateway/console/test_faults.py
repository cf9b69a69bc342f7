"""The console when what it stands on fails: a clear page with a 503, never a 500 or a hang,
and back to work by itself once the service returns."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from configs import Settings
from gateway.entry.app import create_app
from gateway.entry.runtime import EmbeddedRedis
from tests.gateway.console.conftest import add_key, form_token
from tests.support.net import free_port
from tests.support.servers import ServerThread


def _unavailable(response: httpx.Response, started: float) -> None:
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "sessions are unavailable" in response.text


def test_redis_down_is_a_503_page_and_sessions_come_back(
    console_settings: Settings, console_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=True)
    redis.start()
    try:
        app = create_app(
            console_settings, database_url=database_url, redis_url=redis.url, env=console_env
        )
        key = add_key(database_url, "redis-fault")
        with ServerThread(app) as server:
            client = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=20)
            token = form_token(client.get("/console/login").text)
            signed_in = client.post(
                "/console/login", data={"csrf_token": token, "api_key": key.secret}
            )
            assert signed_in.status_code == 303
            assert client.get("/console/").status_code == 200

            redis.stop()
            started = time.monotonic()
            _unavailable(client.get("/console/"), started)
            other = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=20)
            token = form_token(other.get("/console/login").text)
            started = time.monotonic()
            refused = other.post(
                "/console/login", data={"csrf_token": token, "api_key": key.secret}
            )
            _unavailable(refused, started)
            assert "ragway_console=" not in refused.headers.get("set-cookie", "")

            redis.start()  # its append-only file kept the session
            deadline = time.monotonic() + 15
            while client.get("/console/").status_code != 200:
                assert time.monotonic() < deadline, "the session did not come back with Redis"
                time.sleep(0.2)
    finally:
        redis.stop()

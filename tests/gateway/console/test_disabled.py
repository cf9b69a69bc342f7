"""``console.enabled: false`` serves no console at all: no pages, no assets, no sessions."""

from __future__ import annotations

import httpx

from configs import Settings
from gateway.entry.app import create_app
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests


def test_the_console_can_be_switched_off(
    settings: Settings, database_url: str, redis_service: RedisForTests
) -> None:
    off = settings.model_copy(
        update={"console": settings.console.model_copy(update={"enabled": False})}
    )
    app = create_app(off, database_url=database_url, redis_url=redis_service.url)
    assert app.template_engine is None
    with ServerThread(app) as server:
        for path in ("/console/", "/console/login", "/console/static/console.js"):
            response = httpx.get(server.base_url + path, timeout=10)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found"
        assert httpx.get(server.base_url + "/healthz", timeout=10).status_code == 200

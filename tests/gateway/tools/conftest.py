"""One gateway for this package's tests, in front of two loopback upstreams: a capturing
one (``ext``, ``loc``, ``tools``, ``embed``) and one answering with legacy function calls
(``legacy``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from tests.gateway.tools._legacy_upstream import LegacyUpstream
from tests.gateway.tools._stack import make_key
from tests.support.fake_capture import CapturingUpstream
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

ENV = {"CAPTURE_KEY": "sk-capture-" + "y" * 20}


def _deployment(name: str, base_url: str, model: str, trust: str) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai",
        "model": model,
        "base_url": base_url,
        "api_key_env": "CAPTURE_KEY",
        "timeout_s": 5,
        "trust": trust,
    }


@pytest.fixture(scope="package")
def upstream() -> Iterator[CapturingUpstream]:
    with CapturingUpstream() as up:
        yield up


@pytest.fixture(scope="package")
def legacy_upstream() -> Iterator[LegacyUpstream]:
    with LegacyUpstream() as up:
        yield up


@pytest.fixture(scope="package")
def gateway(
    settings: Settings,
    database_url: str,
    redis_service: RedisForTests,
    upstream: CapturingUpstream,
    legacy_upstream: LegacyUpstream,
) -> Iterator[str]:
    url = upstream.base_url
    models = {
        "ext": {"deployments": [_deployment("ext-a", url, "echo", "external")]},
        "loc": {"deployments": [_deployment("loc-a", url, "echo", "local")]},
        "tools": {"deployments": [_deployment("tools-a", url, "tools", "external")]},
        "legacy": {
            "deployments": [_deployment("legacy-a", legacy_upstream.base_url, "legacy", "external")]
        },
        "embed": {
            "type": "embedding",
            "deployments": [_deployment("emb-a", url, "emb", "external")],
        },
    }
    tools = settings.tools.model_copy(
        update={"audit": settings.tools.audit.model_copy(update={"flush_interval_s": 0.05})}
    )
    configured = settings.model_copy(
        update={"providers": ProvidersSettings.model_validate({"models": models}), "tools": tools}
    )
    app = create_app(configured, database_url=database_url, redis_url=redis_service.url, env=ENV)
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="package")
def member(database_url: str) -> str:
    return make_key(database_url)

"""The official openai client -> the gateway -> upstreams over TLS, through a proxy or not.

The gateway reads ``HTTPS_PROXY`` / ``NO_PROXY`` from the environment it is started with and
trusts the throwaway CA through ``providers.http.ca_bundle``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from tests.gateway.api.conftest import insert_key
from tests.support.connect_proxy import ConnectProxy
from tests.support.fake_anthropic import API_KEY as ANTHROPIC_KEY
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests
from tests.support.tls import TlsFiles, TlsFront, make_ca

HI: list[Any] = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_ca(tmp_path_factory.mktemp("gateway-ca"))


@pytest.fixture(scope="module")
def trusted(ca: TlsFiles, upstream: FakeOpenAI) -> Iterator[TlsFront]:
    with TlsFront(ca, upstream.port) as front:
        yield front


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory: pytest.TempPathFactory, upstream: FakeOpenAI) -> Iterator[TlsFront]:
    with TlsFront(make_ca(tmp_path_factory.mktemp("other-ca")), upstream.port) as front:
        yield front


@pytest.fixture(scope="module")
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as forward:
        yield forward


def openai_deployment(name: str, base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "deployments": [
            {"name": name, "provider": "openai", "model": "gpt-test", "base_url": base_url} | extra
        ]
    }


def anthropic_deployment(name: str, base_url: str, **extra: Any) -> dict[str, Any]:
    deployment = {
        "name": name,
        "provider": "anthropic",
        "model": "claude-test",
        "base_url": base_url,
        "api_key_env": "FAKE_ANTHROPIC_KEY",
    }
    return {"deployments": [deployment | extra]}


@pytest.fixture(scope="module")
def gateway_url(
    settings: Settings,
    database_url: str,
    redis_service: RedisForTests,
    ca: TlsFiles,
    trusted: TlsFront,
    untrusted: TlsFront,
    proxy: ConnectProxy,
    anthropic: FakeAnthropic,
) -> Iterator[str]:
    providers = ProvidersSettings.model_validate(
        {
            "models": {
                # https://localhost:... is not in NO_PROXY: through the CONNECT proxy
                "via-proxy": openai_deployment("via-proxy", trusted.base_url("/v1")),
                # https://127.0.0.1:... is in NO_PROXY: direct
                "direct": openai_deployment("direct", trusted.base_url("/v1", host="127.0.0.1")),
                "untrusted": openai_deployment(
                    "untrusted", untrusted.base_url("/v1", host="127.0.0.1")
                ),
                "claude": anthropic_deployment("claude", anthropic.base_url),
                "claude-short": anthropic_deployment(
                    "claude-short", anthropic.base_url, default_max_tokens=512
                ),
            },
            "routing": {"max_attempts": 1, "breaker_failures": 10_000},
            "http": {"ca_bundle": str(Path(ca.ca))},
        }
    )
    env = {
        "FAKE_ANTHROPIC_KEY": ANTHROPIC_KEY,
        "HTTPS_PROXY": proxy.url,
        "NO_PROXY": "127.0.0.1",
    }
    app = create_app(
        settings.model_copy(update={"providers": providers}),
        database_url=database_url,
        redis_url=redis_service.url,
        env=env,
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def client(gateway_url: str, database_url: str) -> openai.OpenAI:
    key = insert_key(database_url)
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0, timeout=20)


def test_https_upstream_through_the_proxy(
    client: openai.OpenAI, proxy: ConnectProxy, trusted: TlsFront
) -> None:
    for _ in range(2):
        completion = client.chat.completions.create(model="via-proxy", messages=HI)
        assert completion.choices[0].message.content
    stream = client.chat.completions.create(model="via-proxy", messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert proxy.connects() == [f"localhost:{trusted.port}"]  # one tunnel, reused


def test_no_proxy_upstream_goes_direct(client: openai.OpenAI, proxy: ConnectProxy) -> None:
    before = len(proxy.requests)
    completion = client.chat.completions.create(model="direct", messages=HI)
    assert completion.choices[0].message.content
    assert len(proxy.requests) == before
    assert all(not target.startswith("127.0.0.1") for target in proxy.connects())


def test_an_unverified_certificate_is_a_502_naming_tls_verification(
    client: openai.OpenAI, untrusted: TlsFront
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="untrusted", messages=HI)
    error = caught.value
    assert error.status_code == 502
    body = error.body
    assert isinstance(body, dict)
    assert body["type"] == "upstream_error"
    assert "TLS certificate verification failed" in body["message"]
    assert f"127.0.0.1:{untrusted.port}" in body["message"]
    assert untrusted.connections == 0


def test_anthropic_default_max_tokens_per_deployment(
    client: openai.OpenAI, anthropic: FakeAnthropic
) -> None:
    client.chat.completions.create(model="claude-short", messages=HI)
    assert anthropic.last.json["max_tokens"] == 512
    stream = client.chat.completions.create(model="claude-short", messages=HI, stream=True)
    assert [c for c in stream]
    assert anthropic.last.json["max_tokens"] == 512
    client.chat.completions.create(model="claude", messages=HI)
    assert anthropic.last.json["max_tokens"] == 4096
    client.chat.completions.create(model="claude-short", messages=HI, max_tokens=64)
    assert anthropic.last.json["max_tokens"] == 64

"""A throwaway CA, TLS fronts before fake upstreams, loopback forward proxies, and one fake
OpenAI and Anthropic upstream per module for the tests through a gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gateway.providers.http import HttpClient, Url
from tests.support.connect_proxy import ConnectProxy
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.tls import TlsFiles, TlsFront, make_ca

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "to the upstream"}]}
_JSON = {"Content-Type": "application/json"}


async def post_chat(client: HttpClient, url: Url) -> dict[str, object]:
    """One chat completion through ``client`` (as the provider adapters send it)."""
    response = await client.request(
        "POST", url, "/chat/completions", headers=_JSON, body=json.dumps(CHAT).encode(), timeout_s=5
    )
    assert response.status == 200
    answer: dict[str, object] = json.loads(await response.read())
    return answer


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_ca(tmp_path_factory.mktemp("tls-trusted"))


@pytest.fixture(scope="session")
def rogue_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A second CA that nothing trusts: its server certificate must not verify."""
    return make_ca(tmp_path_factory.mktemp("tls-rogue"), name="rogue CA")


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def front(tls_files: TlsFiles, fake_upstream: FakeOpenAI) -> Iterator[TlsFront]:
    """https://localhost:PORT in front of the fake OpenAI server (a fresh one per test)."""
    with TlsFront(tls_files, fake_upstream.port) as tls:
        yield tls


@pytest.fixture
def rogue_front(rogue_files: TlsFiles, fake_upstream: FakeOpenAI) -> Iterator[TlsFront]:
    with TlsFront(rogue_files, fake_upstream.port) as tls:
        yield tls


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as forward:
        yield forward


@pytest.fixture
def auth_proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy(credentials=("alice", "s3cr@t:pw")) as forward:
        yield forward


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake

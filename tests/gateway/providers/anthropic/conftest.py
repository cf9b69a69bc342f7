"""The adapter under test, wired to a fake Anthropic server on loopback over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider
from gateway.providers.http import HttpClient
from tests.support.fake_anthropic import API_KEY, FakeAnthropic

CREATED = 1_700_000_000
DEFAULT_MAX_TOKENS = 1024


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeAnthropic) -> FakeAnthropic:
    fake_server.reset()
    return fake_server


@pytest.fixture(scope="session")
async def http_client() -> AsyncIterator[HttpClient]:
    """One pooled client for every test, as the gateway shares one per process."""
    client = HttpClient()
    yield client
    await client.aclose()


@pytest.fixture
def provider(http_client: HttpClient) -> AnthropicProvider:
    return AnthropicProvider(
        client=http_client, default_max_tokens=DEFAULT_MAX_TOKENS, clock=lambda: CREATED + 0.5
    )


@pytest.fixture
def target(fake: FakeAnthropic) -> Target:
    return Target(
        deployment="claude-test",
        base_url=fake.base_url,
        upstream_model="claude-fake-1",
        api_key=API_KEY,
        timeout_s=5.0,
    )

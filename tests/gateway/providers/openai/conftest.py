"""The OpenAI-compatible adapters' tests: an upstream client and the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.providers import Target
from gateway.providers.http import HttpClient
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient()
    yield http
    await http.aclose()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(retry_after="7", slow_s=1.0) as server:
        yield server


def target(fake: FakeOpenAI, timeout_s: float = 5.0) -> Target:
    return Target(
        deployment="d1",
        base_url=fake.base_url,
        upstream_model="m",
        api_key="k",
        timeout_s=timeout_s,
    )

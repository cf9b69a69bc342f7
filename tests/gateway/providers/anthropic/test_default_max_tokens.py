"""A deployment's ``default_max_tokens`` is the ``max_tokens`` Anthropic receives by default."""

from __future__ import annotations

import dataclasses

from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider
from gateway.providers.http import HttpClient
from tests.gateway.providers.anthropic.conftest import DEFAULT_MAX_TOKENS
from tests.gateway.providers.anthropic.helpers import collect, user
from tests.support.fake_anthropic import FakeAnthropic


async def test_the_deployment_default_reaches_anthropic(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    own = dataclasses.replace(target, default_max_tokens=333)
    await provider.chat(own, {"model": "m", "messages": [user("hi")]})
    assert fake.last.json["max_tokens"] == 333
    await collect(provider, own, {"model": "m", "messages": [user("hi")], "stream": True})
    assert fake.last.json["max_tokens"] == 333
    assert fake.last.json["stream"] is True


async def test_the_client_value_wins_and_unset_falls_back(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    own = dataclasses.replace(target, default_max_tokens=333)
    await provider.chat(own, {"model": "m", "messages": [user("hi")], "max_completion_tokens": 21})
    assert fake.last.json["max_tokens"] == 21
    await provider.chat(target, {"model": "m", "messages": [user("hi")]})
    assert fake.last.json["max_tokens"] == DEFAULT_MAX_TOKENS


async def test_the_adapter_default_is_4096(
    http_client: HttpClient, target: Target, fake: FakeAnthropic
) -> None:
    await AnthropicProvider(client=http_client).chat(
        target, {"model": "m", "messages": [user("hi")]}
    )
    assert fake.last.json["max_tokens"] == 4096

"""A gateway (real app, real Postgres and Redis, fake OpenAI upstream) and an admin key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from gateway.policy.keys import CreatedKey, KeyService
from tests.support.fake_openai import FakeOpenAI
from tests.support.policy import UPSTREAM_ENV, NoEvents, make_key, pool_for, priced_providers
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests


@dataclass(frozen=True)
class PolicyGateway:
    base_url: str
    admin_key: str
    database_url: str
    settings: Settings


def create_key(database_url: str, name: str, **fields: object) -> CreatedKey:
    async def create() -> CreatedKey:
        async with pool_for(database_url) as pool:
            return await make_key(KeyService(pool, events=NoEvents()), name, **fields)

    return asyncio.run(create())


@pytest.fixture(scope="session")
def policy_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def policy_settings(settings: Settings, policy_upstream: FakeOpenAI) -> Settings:
    providers = ProvidersSettings.model_validate(priced_providers(policy_upstream.base_url))
    return settings.model_copy(update={"providers": providers})


@pytest.fixture(scope="session")
def policy_gateway(
    policy_settings: Settings, database_url: str, redis_service: RedisForTests
) -> Iterator[PolicyGateway]:
    admin = create_key(database_url, "policy-admin", role="admin")
    app = create_app(
        policy_settings, database_url=database_url, redis_url=redis_service.url, env=UPSTREAM_ENV
    )
    with ServerThread(app) as server:
        yield PolicyGateway(server.base_url, admin.key, database_url, policy_settings)

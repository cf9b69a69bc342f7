"""Quota fixtures: a QuotaService on the session's real Redis, principals with fresh key ids."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from configs import QuotaSettings
from gateway.platform.prices import Price, PriceBook
from gateway.policy.auth import Principal
from gateway.policy.quotas import QuotaService, RedisLane
from tests.support.services import RedisForTests

PRICES = PriceBook(
    {"cheap-a": Price(1.0, 2.0), "dear-b": Price(10.0, 20.0)},
    aliases={"priced": ["cheap-a", "dear-b"]},
)


def principal(**limits: Any) -> Principal:
    key_id = "key_" + secrets.token_hex(6)
    return Principal(
        key_id=key_id, name=f"quota-{key_id}", role="member", display_prefix="sk-rgw-x", **limits
    )


@pytest.fixture
async def quotas(redis_service: RedisForTests) -> AsyncIterator[QuotaService]:
    client = RedisLane(redis_service.url, timeout_s=2)
    service = QuotaService(
        redis=client,
        settings=QuotaSettings(default_completion_tokens=100),
        key_prefix=redis_service.key_prefix,
        prices=PRICES,
    )
    service.start()
    yield service
    await service.close()
    await client.aclose()

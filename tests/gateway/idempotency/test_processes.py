"""Two ``ragway gateway`` processes on one Postgres agree on every ``Idempotency-Key``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.gateway.idempotency.conftest import (
    ENV,
    client,
    idempotency,
    models,
    new_key,
    rows,
)
from tests.support.fake_openai import FakeOpenAI
from tests.support.processes import gateway_pair


@pytest.fixture(scope="module")
def gateways(
    stack_env: dict[str, str], upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Started one after the other from this thread (a process dies with its starter)."""
    logs = tmp_path_factory.mktemp("idempotency-processes")
    env = {
        **stack_env,
        **ENV,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(models(upstream)),
        "RAGWAY_PROVIDERS__ROUTING__MAX_ATTEMPTS": "1",
    }
    with gateway_pair(env, logs) as urls:
        yield urls


def test_a_store_created_on_one_process_is_replayed_by_the_other(
    gateways: tuple[str, str], database_url: str
) -> None:
    key = new_key(database_url)
    a, b = (client(url, key) for url in gateways)
    headers = idempotency()
    name = f"idem-{uuid.uuid4()}"
    first = a.vector_stores.create(name=name, extra_headers=headers)
    again = b.vector_stores.with_raw_response.create(name=name, extra_headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parse() == first
    assert len(rows(database_url, "SELECT id FROM vector_stores WHERE name = %s", name)) == 1


def test_duplicates_on_both_processes_at_once_run_once(
    gateways: tuple[str, str], database_url: str, upstream: FakeOpenAI
) -> None:
    """Through each process's HTTP front (the Responses fast lane) at the same time."""
    key = new_key(database_url)
    headers = idempotency()
    before = upstream.count()
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda url: client(url, key).responses.with_raw_response.create(
                    model="slow", input="only once", extra_headers=headers
                ),
                [*gateways, *gateways],
            )
        )
    assert upstream.count() == before + 1
    assert len({answer.content for answer in answers}) == 1
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) == 3

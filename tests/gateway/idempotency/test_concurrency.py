"""Duplicates in flight: one request runs, the others wait for its answer (or get 409);
a claim whose process died is taken over once its lease runs out."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from tests.gateway.idempotency.conftest import SLOW_S, client, idempotency, new_key, rows
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until


def test_concurrent_duplicates_create_one_store(gateway_url: str, database_url: str) -> None:
    sdk = client(gateway_url, new_key(database_url))
    headers = idempotency()
    name = f"idem-{uuid.uuid4()}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: sdk.vector_stores.with_raw_response.create(
                    name=name, extra_headers=headers
                ),
                range(8),
            )
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert len(rows(database_url, "SELECT id FROM vector_stores WHERE name = %s", name)) == 1


def test_a_duplicate_waits_for_the_first_answer(
    gateway_url: str, database_url: str, upstream: FakeOpenAI
) -> None:
    sdk = client(gateway_url, new_key(database_url))
    headers = idempotency()
    before = upstream.count()
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda _: sdk.responses.with_raw_response.create(
                    model="slow", input="once, slowly", extra_headers=headers
                ),
                range(3),
            )
        )
    assert upstream.count() == before + 1
    assert len({a.content for a in answers}) == 1
    assert answers[0].parse().output_text == "echo: once, slowly"


def test_a_duplicate_that_waits_too_long_gets_409(
    gateway_url: str, impatient_url: str, database_url: str, upstream: FakeOpenAI
) -> None:
    """The impatient gateway (same database) waits 0.3 s; the SDK would retry a 409."""
    key = new_key(database_url)
    headers = idempotency()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(
            client(gateway_url, key).responses.create,
            model="slow",
            input="take your time",
            extra_headers=headers,
        )
        _wait_for_claim(database_url, headers["Idempotency-Key"])
        with pytest.raises(openai.ConflictError) as busy:
            client(impatient_url, key).responses.create(
                model="slow", input="take your time", extra_headers=headers
            )
        assert busy.value.code == "idempotency_key_in_use"
        assert busy.value.response.headers["retry-after"] == "1"
        done = first.result(timeout=SLOW_S + 10)
    # once the first is done, the impatient gateway replays its answer too
    replay = client(impatient_url, key).responses.create(
        model="slow", input="take your time", extra_headers=headers
    )
    assert replay.id == done.id


def test_an_abandoned_claim_is_taken_over(gateway_url: str, database_url: str) -> None:
    """A process that died mid-request left its claim 'running'; its lease ran out."""
    key = new_key(database_url)
    (key_id,) = rows(
        database_url,
        "SELECT id FROM api_keys WHERE key_hash = sha256(%s::bytea)",
        key.encode(),
    )[0]
    headers = idempotency()
    rows(
        database_url,
        "INSERT INTO idempotency_keys (key_id, idempotency_key, method, path, owner, state, "
        "locked_until, expires_at) VALUES (%s, %s, 'POST', '/v1/vector_stores', %s, "
        "'running', now() - interval '1 second', now() + interval '1 day') RETURNING 1",
        key_id,
        headers["Idempotency-Key"],
        uuid.uuid4(),
    )
    store = client(gateway_url, key).vector_stores.create(
        name=f"idem-{uuid.uuid4()}", extra_headers=headers
    )
    (state,) = rows(
        database_url,
        "SELECT state FROM idempotency_keys WHERE key_id = %s AND idempotency_key = %s",
        key_id,
        headers["Idempotency-Key"],
    )[0]
    assert state == "done"
    assert store.id.startswith("vs_")


def _wait_for_claim(database_url: str, key: str) -> None:
    wait_until(
        lambda: bool(
            rows(database_url, "SELECT 1 FROM idempotency_keys WHERE idempotency_key = %s", key)
        ),
        timeout_s=5,
        interval_s=0.02,
    )

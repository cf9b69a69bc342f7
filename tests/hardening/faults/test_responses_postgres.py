"""Stored responses while Postgres is frozen (every process SIGSTOPped) under a real gateway.

A key the gateway already knows needs no database to be served, so what needs Postgres is
only what ``/v1/responses`` keeps there: a ``store: true`` response is answered 503
``database_unavailable`` within ``database.acquire_timeout_s`` (+1 s) -- never as a success
whose id a later turn cannot find -- and its stream ends with ``response.failed``; a
``previous_response_id`` is 503; ``store: false`` and ``/v1/messages`` are served on. Once the
server runs again, stored responses work with no restart.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.entry.runtime import EmbeddedPostgres
from tests.hardening.faults.conftest import process_env
from tests.hardening.faults.freeze import frozen
from tests.hardening.faults.stack import write_config
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.processes import GatewayProcess, insert_key
from tests.support.services import RedisForTests

ACQUIRE_TIMEOUT_S = 1.5


def _post(url: str, key: str, body: dict[str, Any]) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=15)
    return time.monotonic() - started, response


def _events(response: httpx.Response) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


def test_stored_responses_fail_honestly_while_postgres_is_frozen_and_recover(
    own_postgres: EmbeddedPostgres,
    redis_service: RedisForTests,
    fault_upstream: FakeOpenAI,
    embed_upstream: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = own_postgres.start()
    database = {
        "acquire_timeout_s": ACQUIRE_TIMEOUT_S,
        "answer_timeout_s": 1.0,
        "statement_timeout_s": 1.0,
        "connect_timeout_s": 1,
        "pool_min_size": 2,
    }
    config = write_config(tmp_path / "ragway.json", embedder=embed_upstream, database=database)
    env = {
        **process_env(
            database_url=database_url,
            redis=redis_service,
            upstream=fault_upstream,
            config=config,
            tmp_path=tmp_path,
            name="respfreeze",
        ),
    }
    with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
        _, key = insert_key(database_url, "resp-freeze")
        responses = f"{gateway.url}/v1/responses"
        first = _post(responses, key, {"model": "chat", "input": "remember this"})[1]
        assert first.status_code == 200, first.text  # the key is known from here on
        first_id = first.json()["id"]

        with frozen(database_url):
            took, stored = _post(responses, key, {"model": "chat", "input": "keep me"})
            assert stored.status_code == 503, stored.text
            assert stored.json()["error"]["code"] == "database_unavailable"
            assert took < ACQUIRE_TIMEOUT_S + 1, took

            took, streamed = _post(
                responses, key, {"model": "chat", "input": "keep my stream", "stream": True}
            )
            assert streamed.status_code == 200  # the stream had started
            events = _events(streamed)
            assert events[-1]["type"] == "response.failed", events[-1]
            assert "could not be stored" in events[-1]["response"]["error"]["message"]
            assert took < ACQUIRE_TIMEOUT_S + 2, took

            took, chained = _post(
                responses,
                key,
                {"model": "chat", "input": "and then?", "previous_response_id": first_id},
            )
            assert chained.status_code == 503, chained.text
            assert took < ACQUIRE_TIMEOUT_S + 1, took

            unstored = _post(responses, key, {"model": "chat", "input": "x", "store": False})[1]
            assert unstored.status_code == 200, unstored.text
            message = _post(
                f"{gateway.url}/v1/messages",
                key,
                {"model": "chat", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
            )[1]
            assert message.status_code == 200, message.text

        def stored_again() -> bool:
            answer = _post(
                responses,
                key,
                {"model": "chat", "input": "again", "previous_response_id": first_id},
            )[1]
            return answer.status_code == 200

        wait_until(stored_again, timeout_s=15, interval_s=0.3)
        found = httpx.get(
            f"{responses}/{first_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        assert found.status_code == 200

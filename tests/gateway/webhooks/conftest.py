"""A webhooks stack of this package's own: a gateway, a worker, a fake embedder, admin keys.

Its worker retries on a short schedule (first wait 0.2 s, at most 1 s, for 12 s) and times
an attempt out after 1 s, so "down for a minute" and "fails after a day" run in seconds of
test time; it looks for lost jobs every half second, a delivery being lost 60 s past its
attempt. Loopback receivers are allowed (``webhooks.allow_private_targets``); a second
gateway on the same database keeps the default and refuses them. Every endpoint a test
makes is deleted after it, since the session database is shared with other tests.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from openai import NotFoundError, OpenAI

from configs import load_settings
from gateway.entry.app import create_app
from tests.support.fake_embeddings import FakeEmbeddings
from tests.support.keys import insert_key
from tests.support.net import free_port, wait_until
from tests.support.servers import ServerThread, start_process

# Long enough for a file's ingestion, three refused attempts and a receiver coming back on a
# loaded two-core CI machine (at 12 s the "down" test's delivery sometimes ran out of time).
MAX_AGE_S = 25.0
LOST_AFTER_S = 60.0


@dataclass(frozen=True)
class Stack:
    url: str  # the gateway that allows loopback receivers
    strict_url: str  # the same database, default SSRF guard
    admin_key: str
    member_key: str
    metrics_url: str  # the worker's Prometheus endpoint

    def api(self) -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=self.admin_key, max_retries=0)

    def admin(self, *, strict: bool = False, key: str | None = None) -> OpenAI:
        base = self.strict_url if strict else self.url
        return OpenAI(base_url=f"{base}/admin", api_key=key or self.admin_key, max_retries=0)


@pytest.fixture(scope="package")
def embeddings_url() -> Iterator[str]:
    with ServerThread(FakeEmbeddings(dimension=8).app()) as server:
        yield f"{server.base_url}/v1"


@pytest.fixture(scope="package")
def webhook_env(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, embeddings_url: str
) -> dict[str, str]:
    embedder = {"kind": "remote", "base_url": embeddings_url, "model": "fake", "dimension": 8}
    return {
        **stack_env,
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-webhooks",
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("webhooks-data")),
        "RAGWAY_WORKER__THREADS": "4",
        "RAGWAY_WORKER__RELAY_INTERVAL_S": "0.2",  # delayed retries are published on time
        "RAGWAY_INFERENCE__EMBEDDER": json.dumps(embedder),
        "RAGWAY_WEBHOOKS__ALLOW_PRIVATE_TARGETS": "true",
        "RAGWAY_WEBHOOKS__TIMEOUT_S": "1",
        "RAGWAY_WEBHOOKS__FIRST_RETRY_S": "0.2",
        "RAGWAY_WEBHOOKS__MAX_RETRY_S": "1",
        "RAGWAY_WEBHOOKS__MAX_AGE_S": str(MAX_AGE_S),
        "RAGWAY_WEBHOOKS__LOST_JOB_AFTER_S": str(LOST_AFTER_S),
        "RAGWAY_WEBHOOKS__UPKEEP_INTERVAL_S": "0.5",
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
    }


@pytest.fixture(scope="package")
def stack(webhook_env: dict[str, str], database_url: str) -> Iterator[Stack]:
    allowing = load_settings(config_files=[], env=webhook_env)
    strict_env = {**webhook_env, "RAGWAY_WEBHOOKS__ALLOW_PRIVATE_TARGETS": "false"}
    strict = load_settings(config_files=[], env=strict_env)
    assert allowing.redis.url is not None
    redis_url = allowing.redis.url.get_secret_value()
    worker = start_process(["worker"], webhook_env)
    try:
        with (
            ServerThread(
                create_app(allowing, database_url=database_url, redis_url=redis_url)
            ) as server,
            ServerThread(
                create_app(strict, database_url=database_url, redis_url=redis_url)
            ) as strict_server,
        ):
            yield Stack(
                url=server.base_url,
                strict_url=strict_server.base_url,
                admin_key=insert_key(database_url, name="webhooks-admin", role="admin"),
                member_key=insert_key(database_url, name="webhooks-member"),
                metrics_url=f"http://127.0.0.1:{webhook_env['RAGWAY_INGESTION__METRICS_PORT']}",
            )
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.fixture
def endpoints(stack: Stack) -> Iterator[Callable[..., Any]]:
    """``endpoints(url, [types], **fields)`` registers an endpoint; all are deleted after."""
    admin = stack.admin()
    made: list[str] = []

    def create(url: str, event_types: list[str], **fields: Any) -> Any:
        endpoint = admin.webhooks.create(
            name="test",
            url=url,
            event_types=cast(Any, event_types),  # ragway's types are not all OpenAI's
            **fields,
        )
        made.append(endpoint.id)
        return endpoint

    yield create
    for endpoint_id in made:
        with contextlib.suppress(NotFoundError):
            admin.webhooks.delete(endpoint_id)


def deliveries(stack: Stack, endpoint_id: str, **query: Any) -> list[dict[str, Any]]:
    """The endpoint's delivery log (newest first), as an admin reads it."""
    answer = stack.admin().get(
        f"/webhooks/{endpoint_id}/deliveries", cast_to=dict, options={"params": query}
    )
    data: list[dict[str, Any]] = answer["data"]
    return data


def wait_for_log(
    stack: Stack, endpoint_id: str, done: Callable[[dict[str, Any]], bool], timeout_s: float = 30
) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def check() -> bool:
        found[:] = [d for d in deliveries(stack, endpoint_id) if done(d)]
        return bool(found)

    wait_until(check, timeout_s=timeout_s, interval_s=0.1)
    return found[0]


def add_file(stack: Stack, text: bytes, name: str = "note.txt") -> tuple[str, str]:
    """Upload ``text`` into a new vector store; returns (store id, file id) at once."""
    api = stack.api()
    store = api.vector_stores.create(name="webhooks")
    uploaded = api.files.create(file=(name, text), purpose="assistants")
    api.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    return store.id, uploaded.id

"""A gateway that cannot reach Redis still accepts files into stores: their jobs are staged
in the outbox (Postgres) with the change that queues them, and a worker's relay publishes
them. Here the gateway's own Redis is a port nobody listens on, while the package's worker
(with a working Redis) relays and ingests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from openai import OpenAI

from configs import Settings
from gateway.entry.app import create_app
from tests.gateway.collections.conftest import Keys, client
from tests.support.net import free_port
from tests.support.servers import ServerThread


@pytest.fixture(scope="module")
def queue_down_url(collections_settings: Settings, database_url: str) -> Iterator[str]:
    """The collections gateway's settings and database, with a Redis nobody listens on."""
    app = create_app(
        collections_settings,
        database_url=database_url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    with ServerThread(app) as server:
        yield server.base_url


def test_a_file_added_while_the_gateway_has_no_redis_is_accepted_and_ingested(
    queue_down_url: str, keys: Keys, admin: OpenAI
) -> None:
    down = client(queue_down_url, keys.admin)
    store = down.vector_stores.create(name=f"queue-down-{secrets.token_hex(4)}")
    uploaded = down.files.create(
        file=("note.md", b"# Note\n\nThe queue was down when this was added.\n"),
        purpose="assistants",
    )
    accepted = down.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    assert accepted.status == "in_progress"

    done = admin.vector_stores.files.poll(
        file_id=uploaded.id, vector_store_id=store.id, poll_interval_ms=100
    )
    assert done.status == "completed"
    assert done.last_error is None

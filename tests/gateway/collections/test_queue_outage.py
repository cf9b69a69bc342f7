"""A file added while the ingestion queue (Redis) is unreachable is never left waiting for a
message that was not sent: the caller gets a 503, the file ends ``failed`` with a reason, and
adding it again once the queue is back ingests it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import openai
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


def test_a_file_that_cannot_be_queued_fails_clearly_and_can_be_added_again(
    queue_down_url: str, keys: Keys, admin: OpenAI
) -> None:
    down = client(queue_down_url, keys.admin)
    store = down.vector_stores.create(name=f"queue-down-{secrets.token_hex(4)}")
    uploaded = down.files.create(
        file=("note.md", b"# Note\n\nThe queue was down when this was added.\n"),
        purpose="assistants",
    )
    with pytest.raises(openai.InternalServerError) as refused:
        down.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    assert refused.value.status_code == 503
    assert refused.value.code == "queue_unavailable"

    failed = admin.vector_stores.files.retrieve(vector_store_id=store.id, file_id=uploaded.id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.code == "server_error"
    assert "could not be queued" in failed.last_error.message

    retried = admin.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=uploaded.id
    )
    assert retried.status == "completed"
    assert retried.last_error is None

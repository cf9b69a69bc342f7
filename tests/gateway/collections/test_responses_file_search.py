"""``/v1/responses`` ``file_search`` over a store ingested the real way: uploaded through the
API, parsed, chunked and embedded by a real ``ragway worker``, then searched by the gateway
when the model asks (a loopback upstream that calls the search function it is offered, then
echoes the passages it is given)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from tests.gateway.collections.conftest import Keys, client
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import ServerThread

SENTENCE = "The lighthouse keeper winds the clockwork lens every evening at dusk."


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def responses_url(
    collections_settings: Settings, database_url: str, upstream: FakeOpenAI
) -> Iterator[str]:
    """A gateway beside the collections one (same database, storage and worker) that also
    has chat models: one native Responses upstream, one translated."""
    deployment = {"provider": "openai", "base_url": upstream.base_url, "model": "up"}
    providers = ProvidersSettings.model_validate(
        {
            "models": {
                "native": {"deployments": [{**deployment, "name": "native-a"}]},
                "translated": {
                    "deployments": [
                        {**deployment, "name": "translated-a", "responses_api": "translate"}
                    ]
                },
            }
        }
    )
    settings = collections_settings.model_copy(update={"providers": providers})
    assert settings.redis.url is not None
    app = create_app(
        settings, database_url=database_url, redis_url=settings.redis.url.get_secret_value()
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def ingested(admin: OpenAI) -> tuple[str, str]:
    store = admin.vector_stores.create(name="shared-lighthouse")
    text = f"# Lighthouse notes\n\n{SENTENCE}\n\nThe fog horn is tested on Mondays.\n"
    done = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("lighthouse.md", text.encode()), poll_interval_ms=200
    )
    assert done.status == "completed", done.last_error
    return store.id, done.id


@pytest.mark.parametrize("model", ["native", "translated"])
def test_the_answer_cites_the_ingested_file(
    responses_url: str, keys: Keys, ingested: tuple[str, str], model: str
) -> None:
    store_id, file_id = ingested
    reader = client(responses_url, keys.reader)
    response = reader.responses.create(
        model=model,
        input="When does the keeper wind the clockwork lens?",
        tools=[{"type": "file_search", "vector_store_ids": [store_id]}],
        include=["file_search_call.results"],
    )
    search, message = response.output
    assert search.type == "file_search_call"
    assert search.results
    assert search.results[0].file_id == file_id
    assert search.results[0].filename == "lighthouse.md"
    assert SENTENCE in (search.results[0].text or "")
    assert message.type == "message"
    assert SENTENCE in response.output_text
    part = message.content[0]
    assert part.type == "output_text"
    assert part.annotations
    citation = part.annotations[0]
    assert citation.type == "file_citation"
    assert citation.file_id == file_id
    assert response.output_text[citation.index : citation.index + 3] == "[1]"
    # stored for its key only; a key not granted the store cannot search it
    assert reader.responses.retrieve(response.id).output_text == response.output_text
    outsider = client(responses_url, keys.outsider)
    with pytest.raises(openai.NotFoundError):
        outsider.responses.retrieve(response.id)
    with pytest.raises(openai.PermissionDeniedError):
        outsider.responses.create(
            model=model,
            input="x",
            tools=[{"type": "file_search", "vector_store_ids": [store_id]}],
        )

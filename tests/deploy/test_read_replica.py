"""Vector-store search and chat retrieval on a read replica (``DATABASE_READ_URL``).

A real streaming replica (``pg_basebackup`` from pgserver's binaries) of a primary of this
module's own. Search reads the replica: with its replay paused, a file's chunks committed on
the primary meanwhile are not found, by the search API or by chat retrieval; once replay
resumes they are. A store the replica does not have yet is searched on the primary. Writes
never go to the replica: it is read-only, and every write the test makes through the gateway
(a vector store, a file, the usage ledger) succeeds.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from configs import ProvidersSettings, load_settings
from gateway.entry.app import create_app
from gateway.entry.runtime import EmbeddedPostgres
from inference.embedders import LocalEmbedder
from ingestion.db import migrate
from tests.support.chunks import SeedFile, seed_store
from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key
from tests.support.ledger import settled_row
from tests.support.replica import StreamingReplica, streaming_replica
from tests.support.servers import ServerThread

STORE = "vs_replica_docs"
EARLY = "The observatory on Mauna Kea closes when the summit road ices over."
LATE = "Kelp forests off Monterey grow up to sixty centimetres in one day."
NEWER = "The ferry to Stornoway leaves Ullapool twice a day in summer."
UPSTREAM_ENV = {"REPLICA_UPSTREAM_KEY": "sk-upstream-" + "q" * 20}


@dataclass(frozen=True)
class ReplicaStack:
    url: str
    primary_url: str
    replica: StreamingReplica
    admin: str
    upstream: FakeOpenAI
    embedder: LocalEmbedder

    def client(self) -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=self.admin, max_retries=0, timeout=60)

    def seed(self, store_id: str, text: str, *, new_store: bool) -> None:
        """A file with one chunk in the store, written on the primary (as ingestion would)."""
        file_id = f"file-{secrets.token_hex(4)}"
        seed_store(
            self.primary_url,
            store_id,
            [SeedFile(file_id, f"{file_id}.txt", [text], self.embedder.embed([text]))],
            model=self.embedder.model_name,
            dimension=self.embedder.dimension,
            new_store=new_store,
        )


@pytest.fixture(scope="module")
def stack(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReplicaStack]:
    folder = tmp_path_factory.mktemp("replica")
    primary = EmbeddedPostgres(folder / "primary")
    primary_url = primary.start(database="ragway_replica")
    try:
        asyncio.run(migrate(primary_url))
        with (
            streaming_replica(primary_url, folder / "standby") as replica,
            FakeOpenAI() as upstream,
        ):
            yield from _gateway(stack_env, primary_url, replica, upstream, folder)
    finally:
        primary.stop()


def _gateway(
    stack_env: dict[str, str],
    primary_url: str,
    replica: StreamingReplica,
    upstream: FakeOpenAI,
    folder: Path,
) -> Iterator[ReplicaStack]:
    env = {
        **stack_env,
        "DATABASE_URL": primary_url,
        "DATABASE_READ_URL": replica.url_for(primary_url),
        "RAGWAY_DATA_DIR": str(folder / "data"),
    }
    settings = load_settings(config_files=[], env=env)
    assert settings.database.read_url is not None
    deployment = {
        "name": "replica-chat",
        "provider": "openai",
        "model": "upstream-chat",
        "base_url": upstream.base_url,
        "api_key_env": "REPLICA_UPSTREAM_KEY",
        "trust": "local",
        "timeout_s": 10,
    }
    providers = ProvidersSettings.model_validate(
        {"models": {"chat": {"deployments": [deployment]}}}
    )
    settings = settings.model_copy(update={"providers": providers})
    redis_url = settings.redis.url
    assert redis_url is not None
    app = create_app(
        settings, database_url=primary_url, redis_url=redis_url.get_secret_value(), env=UPSTREAM_ENV
    )
    with ServerThread(app) as server:
        stack = ReplicaStack(
            url=server.base_url,
            primary_url=primary_url,
            replica=replica,
            admin=insert_key(primary_url, name="replica-admin", role="admin"),
            upstream=upstream,
            embedder=LocalEmbedder(),
        )
        stack.seed(STORE, EARLY, new_store=True)
        replica.catch_up()
        yield stack


def _search(stack: ReplicaStack, store_id: str, query: str) -> list[str]:
    found = stack.client().vector_stores.search(vector_store_id=store_id, query=query)
    return [part.text for hit in found.data for part in hit.content]


def _retrieved(stack: ReplicaStack, store_id: str, question: str) -> str:
    """What the upstream was sent for a chat with file_search over ``store_id``."""
    tools: Any = [{"type": "file_search", "vector_store_ids": [store_id]}]
    stack.client().chat.completions.create(
        model="chat", messages=[{"role": "user", "content": question}], tools=tools
    )
    return str(stack.upstream.requests[-1].body["messages"])


def test_search_and_retrieval_read_the_replica(stack: ReplicaStack) -> None:
    assert stack.replica.in_recovery()
    assert "Mauna Kea" in " ".join(_search(stack, STORE, "when does the observatory close"))
    stack.replica.pause_replay()
    try:
        stack.seed(STORE, LATE, new_store=False)  # on the primary; not replayed meanwhile
        assert "Monterey" not in " ".join(_search(stack, STORE, "how fast does kelp grow"))
        assert "Monterey" not in _retrieved(stack, STORE, "How fast does kelp grow?")
    finally:
        stack.replica.resume_replay()
    stack.replica.catch_up()
    assert "Monterey" in " ".join(_search(stack, STORE, "how fast does kelp grow"))
    assert "Monterey" in _retrieved(stack, STORE, "How fast does kelp grow?")


def test_a_store_not_replicated_yet_is_searched_on_the_primary(stack: ReplicaStack) -> None:
    stack.replica.pause_replay()
    try:
        stack.seed("vs_replica_newer", NEWER, new_store=True)
        assert "Stornoway" in " ".join(_search(stack, "vs_replica_newer", "ferry timetable"))
        assert "Stornoway" in _retrieved(stack, "vs_replica_newer", "When does the ferry leave?")
        with pytest.raises(openai.NotFoundError):
            _retrieved(stack, "vs_nowhere", "anything?")
    finally:
        stack.replica.resume_replay()


def test_writes_go_to_the_primary(stack: ReplicaStack) -> None:
    client = stack.client()
    store = client.vector_stores.create(name="written-with-a-replica")
    uploaded = client.files.create(file=("note.txt", b"kept on the primary"), purpose="assistants")
    assert client.files.retrieve(uploaded.id).bytes == len(b"kept on the primary")
    assert client.vector_stores.retrieve(store.id).name == "written-with-a-replica"
    raw = client.chat.completions.with_raw_response.create(
        model="chat",
        messages=[{"role": "user", "content": "hello"}],
        extra_headers={"X-Request-ID": "req_replica_ledger"},
    )
    assert raw.parse().choices[0].message.content
    assert settled_row(stack.primary_url, "req_replica_ledger")["status"] == 200

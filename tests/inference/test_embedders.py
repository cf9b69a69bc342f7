"""Remote and local embedders behind one interface, chosen by the config discriminator."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from configs import LocalEmbedderSettings, RemoteEmbedderSettings
from inference.embedders import (
    Embedder,
    EmbeddingError,
    LocalEmbedder,
    RemoteEmbedder,
    build_embedder,
)
from tests.inference.conftest import EMBED_MODEL
from tests.support.fake_embeddings import FakeEmbeddings
from tests.support.servers import ServerThread


@pytest.fixture
def fake() -> Iterator[tuple[FakeEmbeddings, str]]:
    server = FakeEmbeddings()
    with ServerThread(server.app()) as thread:
        yield server, f"{thread.base_url}/v1"


def test_remote_embedder_over_the_cpu_server_equals_the_local_one(cpu_server: str) -> None:
    remote = RemoteEmbedder(base_url=cpu_server, model=EMBED_MODEL, batch_size=3)
    local = LocalEmbedder()
    assert isinstance(remote, Embedder)
    assert remote.dimension == local.dimension == 384  # asked the server once
    texts = [f"document {i} about {'vectors' if i % 2 else 'cats'}" for i in range(7)]
    for got, want in zip(remote.embed(texts), local.embed(texts), strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-5
    assert remote.count_tokens(texts[:3]) == local.count_tokens(texts[:3])


def test_batches_are_ordered_and_normalised(fake: tuple[FakeEmbeddings, str]) -> None:
    server, url = fake
    embedder = RemoteEmbedder(base_url=url, model="m", dimension=8, batch_size=2)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    vectors = embedder.embed(texts)
    assert [len(r["input"]) for r in server.requests] == [2, 2, 1]
    for text, vector in zip(texts, vectors, strict=True):
        raw = FakeEmbeddings.vector(text, 8)
        norm = math.sqrt(sum(x * x for x in raw))
        assert vector == pytest.approx([x / norm for x in raw])
    assert embedder.count_tokens(["one two", "three"]) == [2, 1]


def test_transient_errors_are_retried(fake: tuple[FakeEmbeddings, str]) -> None:
    server, url = fake
    server.script = [503, 429]
    embedder = RemoteEmbedder(base_url=url, model="m", dimension=8, retry_delay_s=0.01)
    assert len(embedder.embed(["x"])) == 1
    assert len(server.requests) == 3
    server.script = [500, 500, 500]
    with pytest.raises(EmbeddingError, match=r"answered 500: scripted 500 \(after 3 attempts\)"):
        embedder.embed(["x"])


def test_client_errors_and_bad_answers_fail_clearly(fake: tuple[FakeEmbeddings, str]) -> None:
    server, url = fake
    embedder = RemoteEmbedder(base_url=url, model="m", dimension=8, retry_delay_s=0.01)
    server.script = [400]
    with pytest.raises(EmbeddingError, match="answered 400: scripted 400"):
        embedder.embed(["x"])
    assert len(server.requests) == 1  # a 400 is not retried
    server.extra_vectors = 1
    with pytest.raises(EmbeddingError, match="returned 2 vectors for 1 texts"):
        embedder.embed(["x"])
    server.extra_vectors = 0
    wrong = RemoteEmbedder(base_url=url, model="m", dimension=16)
    with pytest.raises(EmbeddingError, match="returned 8 dimensions, expected 16"):
        wrong.embed(["x"])
    unreachable = RemoteEmbedder(
        base_url="http://127.0.0.1:9/v1", model="m", dimension=8, max_retries=0
    )
    with pytest.raises(EmbeddingError, match="cannot reach"):
        unreachable.embed(["x"])


def test_factory_builds_by_kind(fake: tuple[FakeEmbeddings, str]) -> None:
    server, url = fake
    local = build_embedder(LocalEmbedderSettings(model_name="minilm", batch_size=4))
    assert isinstance(local, LocalEmbedder)
    assert (local.model_name, local.dimension) == ("minilm", 384)
    settings = RemoteEmbedderSettings(
        kind="remote", base_url=url, model="m", api_key_env="EMBED_KEY"
    )
    remote = build_embedder(settings, env={"EMBED_KEY": "sk-test"}, http=httpx.Client())
    assert isinstance(remote, RemoteEmbedder)
    assert remote.dimension == 8
    assert server.headers[-1]["authorization"] == "Bearer sk-test"
    with pytest.raises(EmbeddingError, match="names EMBED_KEY, which is not set"):
        build_embedder(settings, env={})


def test_loading_the_local_model_prints_no_progress_bar() -> None:
    """Whatever starts the process, its stderr stays log lines (one JSON object each)."""
    environment = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    loaded = subprocess.run(
        [sys.executable, "-c", "from inference.embedders import LocalEmbedder; LocalEmbedder()"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Loading weights" not in loaded.stderr
    assert "%|" not in loaded.stderr

"""One embedder per host: ``ragway embedder`` on a private Unix socket, and the processes
that ask it instead of loading the model (what ``ragway run`` gives its gateway and worker).
"""

from __future__ import annotations

import math
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from configs import LocalEmbedderSettings
from inference.embedders import (
    QUERY_LANE_TEXTS,
    EmbeddingError,
    LocalEmbedder,
    RemoteEmbedder,
    build_embedder,
)
from tests.support.fake_embeddings import FakeEmbeddings
from tests.support.net import wait_until
from tests.support.servers import ServerThread


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture(scope="module")
def embedder_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real ``ragway embedder`` process listening on a socket in a private folder."""
    folder = Path(tmp_path_factory.mktemp("emb"))
    socket = folder / "embedder.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWAY_")}
    env |= {"RAGWAY_CONFIG": "", "RAGWAY_LOGGING__LEVEL": "WARNING"}
    log = (folder / "embedder.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "embedder", "--socket", str(socket)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), timeout=2)

    def up() -> bool:
        assert process.poll() is None, (folder / "embedder.log").read_text()
        try:
            return client.get("http://ragway-embedder/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout_s=120, interval_s=0.2)
        yield socket
    finally:
        client.close()
        process.terminate()
        process.wait(30)
        log.close()


def _max_difference(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for u, v in zip(a, b, strict=True) for x, y in zip(u, v, strict=True))


def test_the_shared_embedder_answers_as_the_local_model_does(
    embedder_socket: Path, local: LocalEmbedder
) -> None:
    shared = build_embedder(LocalEmbedderSettings(shared_socket=embedder_socket))
    assert isinstance(shared, RemoteEmbedder)
    assert (shared.model_name, shared.dimension) == ("all-MiniLM-L6-v2", 384)
    texts = [
        f"chunk {i}: {'pgvector stores' if i % 2 else 'workers embed'} vectors" for i in range(40)
    ]
    got, want = shared.embed(texts), local.embed(texts)
    assert _max_difference(got, want) < 1e-5
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-5) for v in got)
    # Only its owner may connect: the socket is 0600 whatever the umask.
    assert stat.S_IMODE(embedder_socket.stat().st_mode) == 0o600


def test_a_process_asking_the_shared_embedder_never_loads_torch(embedder_socket: Path) -> None:
    """What keeps a gateway process small: no torch, no transformers, no weights."""
    script = (
        "import sys\n"
        "from configs import LocalEmbedderSettings\n"
        "from inference.embedders import build_embedder\n"
        f"e = build_embedder(LocalEmbedderSettings(shared_socket={str(embedder_socket)!r}))\n"
        "assert len(e.embed(['a question'])[0]) == 384\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_shared_embedder_that_is_down_fails_clearly(tmp_path: Path) -> None:
    embedder = RemoteEmbedder(
        base_url="http://ragway-embedder/v1",
        model="all-MiniLM-L6-v2",
        socket=tmp_path / "absent.sock",
        dimension=384,
        max_retries=1,
        retry_delay_s=0.01,
    )
    with pytest.raises(EmbeddingError, match=r"cannot reach .* \(after 2 attempts\)"):
        embedder.embed(["x"])


def test_a_query_never_waits_behind_a_bulk_batch(local: LocalEmbedder) -> None:
    """Queries (up to QUERY_LANE_TEXTS texts) have their own lane: with a bulk forward pass
    in progress (its lane held here), a query still completes; a bulk request waits."""
    bulk_lane = local._lanes[1]
    with bulk_lane:
        query = threading.Thread(target=local.embed, args=(["a question"] * QUERY_LANE_TEXTS,))
        query.start()
        query.join(timeout=30)
        assert not query.is_alive()
        bulk_done = threading.Event()

        def bulk_call() -> None:
            local.embed(["chunk"] * (QUERY_LANE_TEXTS + 1))
            bulk_done.set()

        bulk = threading.Thread(target=bulk_call)
        bulk.start()
        assert not bulk_done.wait(0.5)
    bulk.join(timeout=30)
    assert bulk_done.is_set()


def test_both_lanes_at_once_give_the_same_vectors(local: LocalEmbedder) -> None:
    """The lanes run forward passes concurrently while the server counts tokens: no call
    fails and every vector and count is what a lone call gives."""
    queries = [[f"question {i}"] for i in range(24)]
    batches = [[f"chunk {i}-{j} about vectors" for j in range(12)] for i in range(4)]
    expected = {tuple(t): local.embed(t) for t in queries + batches}
    counts = local.count_tokens(batches[0])
    results: dict[tuple[str, ...], list[list[float]]] = {}
    errors: list[BaseException] = []

    def run(texts: list[str]) -> None:
        try:
            results[tuple(texts)] = local.embed(texts)
        except BaseException as exc:
            errors.append(exc)

    def count(texts: list[str]) -> None:  # tokenizes without padding: other tokenizer state
        try:
            if local.count_tokens(texts) != counts:
                errors.append(AssertionError("token counts differ"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in queries + batches]
    threads += [threading.Thread(target=count, args=(batches[0],)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for texts, vectors in expected.items():
        assert _max_difference(results[texts], vectors) < 1e-5


def test_base64_answers_decode_to_the_same_vectors() -> None:
    server = FakeEmbeddings()
    with ServerThread(server.app()) as thread:
        url = f"{thread.base_url}/v1"
        floats = RemoteEmbedder(base_url=url, model="m", dimension=8)
        packed = RemoteEmbedder(base_url=url, model="m", dimension=8, encoding_format="base64")
        texts = ["a", "bb", "ccc"]
        assert _max_difference(packed.embed(texts), floats.embed(texts)) < 1e-6
        assert server.requests[-2]["encoding_format"] == "base64"


def test_the_embedder_command_refuses_a_remote_embedder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWAY_")}
    env |= {
        "RAGWAY_CONFIG": "",
        "RAGWAY_INFERENCE__EMBEDDER__KIND": "remote",
        "RAGWAY_INFERENCE__EMBEDDER__BASE_URL": "http://127.0.0.1:9/v1",
        "RAGWAY_INFERENCE__EMBEDDER__MODEL": "m",
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "embedder", "--socket", str(tmp_path / "s")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "inference.embedder.kind is remote: there is no local model to serve" in done.stderr

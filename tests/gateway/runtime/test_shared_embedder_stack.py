"""``ragway run`` loads a local embedding model once, in its ``embedder`` process: the gateway
searches through it and stays small, and a killed embedder is restarted.

Real processes throughout: ``python -m gateway run`` on its own data dir and free ports, the
official ``openai`` client as the caller.
"""

from __future__ import annotations

import os
import secrets
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.gateway.runtime.test_supervisor_restarts import Stack, _alive
from tests.gateway.test_run_command import run_env, start_run, stop, wait_ready
from tests.support.net import free_port, wait_until

GATEWAY_RSS_LIMIT_MIB = 250  # issue 17: a gateway process with search on


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _maps_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def _search(client: openai.OpenAI, store: str, query: str) -> list[str]:
    page = client.vector_stores.search(store, query=query, max_num_results=3)
    return [part.text for result in page.data for part in result.content]


@pytest.fixture
def searchable(tmp_path: Path) -> Iterator[tuple[Stack, openai.OpenAI, str]]:
    data_dir = tmp_path / "data"
    gateway_port, redis_port = free_port(), free_port()
    admin = "sk-test-" + secrets.token_urlsafe(24)
    env = {
        **run_env(data_dir, gateway_port, redis_port),
        "RAGWAY_INGESTION__METRICS_PORT": "0",
        "RAGWAY_ADMIN_KEY": admin,
    }
    log = tmp_path / "run.log"
    process = start_run(env, log)
    url = f"http://127.0.0.1:{gateway_port}"
    stack = Stack(process, url, data_dir, redis_port, log)
    try:
        wait_ready(process, url, log)
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=admin, max_retries=0, timeout=30)
        document = tmp_path / "lighthouse.md"
        document.write_text(
            "# Keepers\nThe lighthouse keeper trims the lamp wick every evening at dusk.\n\n"
            "# Tides\nSpring tides follow the new and the full moon.\n"
        )
        uploaded = client.files.create(file=document.open("rb"), purpose="assistants")
        store = client.vector_stores.create(name="docs", file_ids=[uploaded.id])
        wait_until(
            lambda: client.vector_stores.retrieve(store.id).file_counts.completed == 1,
            timeout_s=120,
            interval_s=0.5,
        )
        yield stack, client, store.id
    finally:
        if process.poll() is None:
            stop(process)


def test_the_gateway_searches_through_the_shared_embedder_and_stays_small(
    searchable: tuple[Stack, openai.OpenAI, str],
) -> None:
    stack, client, store = searchable
    assert "wick" in " ".join(_search(client, store, "who trims the lamp?"))
    pids = stack.pids()
    assert {"gateway", "worker", "embedder"} <= pids.keys()
    # The model lives in the embedder only; gateway and worker never map torch.
    assert _maps_torch(pids["embedder"])
    assert not _maps_torch(pids["gateway"])
    assert not _maps_torch(pids["worker"])
    rss = _rss_mib(pids["gateway"])
    assert rss <= GATEWAY_RSS_LIMIT_MIB, f"gateway RSS {rss:.0f} MiB"
    socket = stack.data_dir / "run" / "embedder.sock"
    if socket.exists():  # else the data dir path was too long and a temp folder holds it
        assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700
    assert stop(stack.process) == 0, stack.log.read_text()


def test_a_killed_embedder_is_restarted_and_search_recovers(
    searchable: tuple[Stack, openai.OpenAI, str],
) -> None:
    stack, client, store = searchable
    embedder = stack.pids()["embedder"]
    os.kill(embedder, signal.SIGKILL)
    wait_until(lambda: stack.pids().get("embedder", embedder) != embedder, timeout_s=20)
    assert _alive(stack.pids()["embedder"])

    refusals: list[tuple[int, object]] = []

    def answers() -> bool:  # a new query each time: the query cache does not help
        query = f"when are spring tides? {secrets.token_hex(4)}"
        try:
            return "moon" in " ".join(_search(client, store, query))
        except openai.APIStatusError as exc:
            refusals.append((exc.status_code, exc.code))
            return False

    wait_until(answers, timeout_s=60, interval_s=0.5)
    # While it was down: a retryable 503 in OpenAI's shape, never a 500.
    assert set(refusals) <= {(503, "embedder_unavailable")}, refusals
    assert stack.restarts()["embedder"] == 1
    assert "the embedder process exited unexpectedly (killed by SIGKILL)" in stack.log.read_text()
    assert stop(stack.process) == 0, stack.log.read_text()

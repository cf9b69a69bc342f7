"""A batch stack of this package's own: a ``ragway gateway`` and a ``ragway worker`` on the
session's Postgres and Redis (their own broker namespace), a fake OpenAI upstream, keys."""

from __future__ import annotations

import json
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from tests.support.fake_openai import FakeOpenAI
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.processes import ApiStack, GatewayProcess, insert_key
from tests.support.servers import start_process

BatchStack = ApiStack


@pytest.fixture(scope="package")
def batch_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="package")
def batch_stack(
    stack_env: dict[str, str],
    database_url: str,
    batch_upstream: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BatchStack]:
    providers = priced_providers(batch_upstream.base_url)
    models = dict(providers["models"])  # type: ignore[call-overload]
    broken = json.loads(json.dumps(models["chat"]))
    broken["deployments"][0].update(name="broken-a", model="fault-400")
    models["broken"] = broken
    slow = json.loads(json.dumps(models["chat"]))  # each answer after slow_s (3 s)
    slow["deployments"][0].update(name="slow-a", model="fault-slow")
    models["slow"] = slow
    folder = tmp_path_factory.mktemp("batches")
    env = {
        **stack_env,
        **UPSTREAM_ENV,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-batches",
        "RAGWAY_WORKER__THREADS": "4",
        "RAGWAY_WORKER__HEARTBEAT_TIMEOUT_S": "4",
        "RAGWAY_WORKER__RECOVERY_INTERVAL_S": "1",
        "RAGWAY_DATA_DIR": str(folder / "data"),
        "RAGWAY_INGESTION__METRICS_PORT": "0",
        "RAGWAY_BATCHES__LINES_PER_JOB": "50",
        "RAGWAY_WEBHOOKS__ALLOW_PRIVATE_TARGETS": "true",  # receivers on loopback
    }
    _, admin_key = insert_key(database_url, f"batch-admin-{secrets.token_hex(3)}")
    member_id, member_key = insert_key(
        database_url, f"batch-member-{secrets.token_hex(3)}", role="member"
    )
    with GatewayProcess(env, folder / "gateway.log") as gateway:
        worker = start_process(["worker"], env)
        stack = BatchStack(gateway.url, env, database_url, admin_key, member_key, member_id, worker)
        try:
            yield stack
        finally:
            if stack.worker.poll() is None:
                stack.worker.send_signal(signal.SIGTERM)
                stack.worker.wait(timeout=30)


def jsonl(lines: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def chat_line(custom_id: str, text: str, model: str = "chat") -> dict[str, object]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}]},
    }


def read_jsonl(client: OpenAI, file_id: str | None) -> list[dict[str, object]]:
    if file_id is None:
        return []
    content = client.files.content(file_id).read()
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def worker_log_path(folder: Path) -> Path:
    return folder / "worker.log"

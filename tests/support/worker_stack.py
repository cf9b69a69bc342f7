"""A gateway in a thread and a real ``ragway worker`` process on the session's services, with
an admin key: what the ingestion tests that need their own worker settings drive with the
official ``openai`` SDK.

Each module gets its own worker namespace (so its jobs reach only its worker) and data
folder; ``overrides`` are extra ``RAGWAY_*`` variables for the worker and the gateway."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openai import OpenAI

from configs import load_settings
from gateway.entry.app import create_app
from tests.support.net import free_port
from tests.support.processes import insert_key
from tests.support.servers import ServerThread, start_process

__all__ = ["WorkerStack", "worker_stack"]


@dataclass(frozen=True)
class WorkerStack:
    admin: OpenAI
    database_url: str
    worker: int  # its pid


@contextmanager
def worker_stack(
    stack_env: dict[str, str],
    database_url: str,
    data_dir: Path,
    name: str,
    *,
    timeout_s: float = 60,
    **overrides: str,
) -> Iterator[WorkerStack]:
    env = {
        **stack_env,
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-{name}",
        "RAGWAY_DATA_DIR": str(data_dir),
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
        **overrides,
    }
    settings = load_settings(config_files=[], env=env)
    assert settings.redis.url is not None
    _, key = insert_key(database_url, name)
    app = create_app(
        settings, database_url=database_url, redis_url=settings.redis.url.get_secret_value()
    )
    worker = start_process(["worker"], env)
    try:
        with ServerThread(app) as server:
            admin = OpenAI(
                base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=timeout_s
            )
            yield WorkerStack(admin, database_url, worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

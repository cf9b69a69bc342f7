"""`ragway run` with RABBITMQ_URL set: its worker and gateway put the jobs on RabbitMQ (the
embedded Postgres and Redis still start; Redis keeps quotas and key invalidation)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from openai import OpenAI

from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.rabbitmq import RabbitVhost

UPSTREAM_KEY_ENV = "RABBIT_RUN_UPSTREAM_KEY"


def test_ragway_run_with_rabbitmq_url_ingests_through_rabbitmq(
    vhost: RabbitVhost, tmp_path: Path
) -> None:
    port = free_port()
    admin_key = "sk-rgw-" + secrets.token_urlsafe(32)
    log = tmp_path / "run.log"
    with FakeOpenAI() as embed:
        config = tmp_path / "ragway.json"
        config.write_text(
            json.dumps(
                {
                    "inference": {
                        "embedder": {
                            "kind": "remote",  # no model to load: nothing here is about it
                            "base_url": embed.base_url,
                            "model": "embed-test",
                            "api_key_env": UPSTREAM_KEY_ENV,
                            "dimension": 8,
                        }
                    }
                }
            )
        )
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("RAGWAY_") and name not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            RABBITMQ_URL=vhost.url,
            RAGWAY_ADMIN_KEY=admin_key,
            RAGWAY_CONFIG=str(config),
            RAGWAY_DATA_DIR=str(tmp_path / "data"),
            RAGWAY_GATEWAY__PORT=str(port),
            RAGWAY_EMBEDDED__REDIS_PORT=str(free_port()),
            RAGWAY_INGESTION__METRICS_PORT="0",
            RAGWAY_LOGGING__LEVEL="INFO",
            **{UPSTREAM_KEY_ENV: "sk-upstream-run-" + "u" * 20},
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run"], env=env, stdout=out, stderr=out
            )
        try:

            def ready() -> bool:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success
                except httpx.TransportError:
                    return False

            wait_until(ready, timeout_s=120, interval_s=0.2)
            assert "jobs go through RabbitMQ" in log.read_text()
            # The worker consumes the ingestion queue on RabbitMQ.
            wait_until(lambda: vhost.queue_counts("ingestion")[1] == 1, timeout_s=60)
            admin = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=admin_key)
            store = admin.vector_stores.create(name="run-on-rabbitmq").id
            uploaded = admin.files.create(
                file=("run.txt", b"The ferry timetable changes in winter."), purpose="assistants"
            )
            admin.vector_stores.files.create(vector_store_id=store, file_id=uploaded.id)
            wait_until(
                lambda: (
                    admin.vector_stores.files.retrieve(uploaded.id, vector_store_id=store).status
                    == "completed"
                ),
                timeout_s=60,
            )
            assert embed.count("/embeddings") >= 1
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=90) == 0, log.read_text()[-3000:]

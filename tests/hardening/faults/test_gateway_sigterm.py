"""A ``ragway gateway`` process told to stop (SIGTERM) while it streams an answer.

Graceful means: the stream in flight finishes whole (every chunk, the usage chunk and
``[DONE]``), the port refuses new connections meanwhile, the buffered usage row reaches
Postgres before the process exits, and the exit code is 0.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.hardening.faults.conftest import models_env
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.processes import GatewayProcess, insert_key

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
]


def refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=0.5)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        return False
    return False


def test_sigterm_mid_stream_finishes_the_stream_refuses_new_work_and_flushes_usage(
    stack_env: dict[str, str],
    database_url: str,
    fault_upstream: FakeOpenAI,
    tmp_path: Path,
) -> None:
    fault_upstream.drip_s = 0.4  # 13 chunks: about 4.4 s of stream after the signal
    env = {
        **stack_env,
        **models_env(fault_upstream),
        "RAGWAY_DATA_DIR": str(tmp_path / "data"),
        "RAGWAY_LOGGING__LEVEL": "INFO",
        "RAGWAY_GATEWAY__GRACEFUL_TIMEOUT_S": "20",
        # Only the shutdown flush can write the row within this test.
        "RAGWAY_POLICY__USAGE__FLUSH_INTERVAL_S": "600",
    }
    _, key = insert_key(database_url, "sigterm", role="member", readable=())
    request_id = f"sigterm-{secrets.token_hex(6)}"
    gateway = GatewayProcess(env, tmp_path / "gateway.log").start()
    try:
        body = {
            "model": "drip",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": " ".join(WORDS)}],
        }
        headers = {"Authorization": f"Bearer {key}", "X-Request-ID": request_id}
        events: list[str] = []
        with (
            httpx.Client(timeout=30) as http,
            http.stream(
                "POST", f"{gateway.url}/v1/chat/completions", json=body, headers=headers
            ) as response,
        ):
            assert response.status_code == 200
            lines = response.iter_lines()
            while len(events) < 2:
                line = next(lines)
                if line.startswith("data: "):
                    events.append(line.removeprefix("data: "))
            gateway.signal()
            signalled = time.monotonic()

            # The listening socket closes at once; the stream goes on meanwhile.
            while not refused(gateway.url):
                assert time.monotonic() - signalled < 3.0, "still accepting connections"
                time.sleep(0.05)
            assert gateway.process is not None
            assert gateway.process.poll() is None, "exited before the stream finished"
            refused_after = time.monotonic() - signalled

            events += [ln.removeprefix("data: ") for ln in lines if ln.startswith("data: ")]
        finished_after = time.monotonic() - signalled
        code = gateway.wait(timeout_s=30)
    finally:
        if gateway.process is not None and gateway.process.poll() is None:
            gateway.stop()

    assert refused_after < finished_after
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    text = "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )
    assert text.split() == ["echo:", *WORDS]
    assert chunks[-1]["usage"]["completion_tokens"] == len(WORDS) + 1
    assert code == 0, f"exit code {code}:\n{gateway.log_text()[-2000:]}"

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status, streamed, completion_tokens FROM usage_events WHERE request_id = %s",
            (request_id,),
        ).fetchall()
    assert rows == [(200, True, len(WORDS) + 1)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_gateway_server_exits_0_after_a_stop_by_signal(sig: signal.Signals) -> None:
    """The server ``ragway gateway`` runs, on a tiny app: SIGTERM and Ctrl-C are clean exits."""
    port = free_port()
    code = (
        "from gateway.entry.cli._uvicorn import serve_gateway\n"
        f"serve_gateway('tests.support.processes:hello_app', port={port}, log_config=None)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        wait_until(lambda: not refused(f"http://127.0.0.1:{port}"), timeout_s=30)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr

"""``ragway inference serve --backend vllm`` against a stand-in vllm CLI and server.

``tests/support/fake_vllm`` parses ``vllm serve`` options like vLLM does, opens its port after
a start-up delay, answers /health and /v1/models, crashes or turns unhealthy on request, and
records every command line and signal it receives.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from configs import InferenceSettings, VllmSettings
from inference.errors import BackendError
from inference.vllm import SupervisorPolicy, VllmState, VllmSupervisor, build_vllm_supervisor
from tests.support.net import free_port, wait_until

FAKE_VLLM = Path(__file__).resolve().parents[1] / "support" / "fake_vllm"
FAST = SupervisorPolicy(
    startup_timeout_s=10,
    health_interval_s=0.1,
    health_failures=2,
    restart_backoff_s=0.3,
    restart_backoff_max_s=1.0,
    stop_timeout_s=5,
)


def events(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def starts(record: Path) -> list[dict[str, Any]]:
    return [e for e in events(record) if e["event"] == "start"]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    weights = tmp_path / "tiny-chat"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "models:\n"
        "  - name: tiny-chat\n"
        "    path: tiny-chat\n"
        "    task: generate\n"
        "    context_length: 4096\n"
        "    dtype: float16\n"
        "    vllm: {max_num_seqs: 8, tool_call_parser: hermes, gpu_memory_utilization: 0.5}\n"
    )
    return path


class Running:
    """A supervisor running in a thread, stopped (and joined) on exit."""

    def __init__(self, supervisor: VllmSupervisor) -> None:
        self.supervisor = supervisor
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.supervisor.run(self.stop)
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()


def supervisor_for(
    manifest: Path, record: Path, port: int, env: dict[str, str], policy: SupervisorPolicy = FAST
) -> VllmSupervisor:
    settings = InferenceSettings(
        manifest=manifest, vllm=VllmSettings(executable=str(FAKE_VLLM), port=port)
    )
    built = build_vllm_supervisor(settings, model=None)
    return VllmSupervisor(
        built._command,
        health_url=f"http://127.0.0.1:{port}/health",
        policy=policy,
        env={**os.environ, "FAKE_VLLM_RECORD": str(record), **env},
    )


def test_starts_vllm_with_the_manifest_command_and_stops_it(manifest: Path, tmp_path: Path) -> None:
    record, port = tmp_path / "record.jsonl", free_port()
    supervisor = supervisor_for(manifest, record, port, {"FAKE_VLLM_STARTUP_S": "0.5"})
    with Running(supervisor):
        wait_until(lambda: supervisor.state is VllmState.STARTING, timeout_s=10)
        time.sleep(0.2)
        state: VllmState = supervisor.state
        assert state is VllmState.STARTING  # port not open yet: still loading
        wait_until(lambda: supervisor.state is VllmState.READY, timeout_s=10)
        [start] = starts(record)
        assert start["argv"] == [
            "serve", str(tmp_path / "tiny-chat"),
            "--served-model-name", "tiny-chat",
            "--host", "127.0.0.1", "--port", str(port),
            "--dtype", "float16",
            "--max-model-len", "4096",
            "--tensor-parallel-size", "1",
            "--gpu-memory-utilization", "0.5",
            "--max-num-seqs", "8",
            "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
            "--enable-prefix-caching",
        ]  # fmt: skip
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        assert [m.id for m in client.models.list()] == ["tiny-chat"]
    assert supervisor.state is VllmState.STOPPED
    assert [e["event"] for e in events(record)] == ["start", "signal", "exit"]
    assert events(record)[1]["signal"] == "SIGTERM"
    assert events(record)[2]["returncode"] == 0


def test_crashed_vllm_is_restarted_with_backoff(manifest: Path, tmp_path: Path) -> None:
    record, port = tmp_path / "record.jsonl", free_port()
    env = {"FAKE_VLLM_CRASH_STARTS": "2", "FAKE_VLLM_CRASH_AFTER_S": "0.2"}
    supervisor = supervisor_for(manifest, record, port, env)
    with Running(supervisor):
        wait_until(lambda: len(starts(record)) == 3, timeout_s=20)
        wait_until(lambda: supervisor.state is VllmState.READY, timeout_s=10)
        time.sleep(0.5)
        assert supervisor.state is VllmState.READY  # the third start stays up
    exits = [e for e in events(record) if e["event"] == "exit"]
    assert [e["returncode"] for e in exits] == [1, 1, 0]
    assert supervisor.starts == 3


def test_backoff_doubles_while_vllm_never_becomes_healthy(manifest: Path, tmp_path: Path) -> None:
    record, port = tmp_path / "record.jsonl", free_port()
    # Every start dies before it answers: the delay between starts grows 0.3 -> 0.6 -> 1.0 (max).
    supervisor = supervisor_for(manifest, record, port, {"FAKE_VLLM_FAIL_STARTS": "99"})
    with Running(supervisor):
        wait_until(lambda: len(starts(record)) >= 4, timeout_s=20)
    assert supervisor.state is VllmState.STOPPED
    times = [e["t"] for e in starts(record)][:4]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.3
    assert gaps[1] >= 0.6
    assert gaps[2] >= 1.0
    assert gaps[2] < 3.0


def test_unhealthy_vllm_is_restarted(manifest: Path, tmp_path: Path) -> None:
    record, port = tmp_path / "record.jsonl", free_port()
    env = {"FAKE_VLLM_UNHEALTHY_STARTS": "1", "FAKE_VLLM_UNHEALTHY_AFTER_S": "0.3"}
    supervisor = supervisor_for(manifest, record, port, env)
    with Running(supervisor):
        wait_until(lambda: len(starts(record)) == 2, timeout_s=20)
        wait_until(lambda: supervisor.state is VllmState.READY, timeout_s=10)
    first_pid = starts(record)[0]["pid"]
    assert {"event": "signal", "signal": "SIGTERM", "pid": first_pid} in [
        {k: e[k] for k in ("event", "signal", "pid")} for e in events(record) if "signal" in e
    ]


def test_vllm_that_ignores_sigterm_is_killed(manifest: Path, tmp_path: Path) -> None:
    record, port = tmp_path / "record.jsonl", free_port()
    policy = SupervisorPolicy(startup_timeout_s=10, health_interval_s=0.1, stop_timeout_s=0.5)
    env = {"FAKE_VLLM_IGNORE_SIGTERM": "1"}
    supervisor = supervisor_for(manifest, record, port, env, policy)
    running = Running(supervisor)
    with running:
        wait_until(lambda: supervisor.state is VllmState.READY, timeout_s=10)
        pid = starts(record)[0]["pid"]
        began = time.monotonic()
    assert time.monotonic() - began >= 0.5
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert [e["event"] for e in events(record)] == ["start", "signal"]  # never exited by itself


def test_missing_executable_is_a_clear_error(manifest: Path, tmp_path: Path) -> None:
    settings = InferenceSettings(
        manifest=manifest, vllm=VllmSettings(executable=str(tmp_path / "no-vllm"))
    )
    supervisor = build_vllm_supervisor(settings, model=None)
    with pytest.raises(BackendError, match=r"vLLM executable .*no-vllm' not found"):
        supervisor.run(threading.Event())


@pytest.fixture
def cli_env(manifest: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "RAGWAY_INFERENCE__MANIFEST": str(manifest),
        "RAGWAY_INFERENCE__VLLM__EXECUTABLE": str(FAKE_VLLM),
        "RAGWAY_INFERENCE__VLLM__PORT": str(free_port()),
        "RAGWAY_INFERENCE__VLLM__HEALTH_INTERVAL_S": "0.2",
        "RAGWAY_LOGGING__FORMAT": "json",
        "RAGWAY_CONFIG": "",
        "FAKE_VLLM_RECORD": str(tmp_path / "record.jsonl"),
    }


def test_cli_forwards_sigterm_and_logs_states(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = cli_env["RAGWAY_INFERENCE__VLLM__PORT"]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "inference", "serve", "--backend", "vllm"],
        env={**os.environ, **cli_env},
        stderr=subprocess.PIPE,
        text=True,
    )

    def vllm_up() -> bool:
        assert process.poll() is None, "the supervisor exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(vllm_up, timeout_s=30)
        time.sleep(0.5)  # the supervisor logs "ready" on its next health check
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    record = events(tmp_path / "record.jsonl")
    assert [e["event"] for e in record] == ["start", "signal", "exit"]
    assert record[1]["signal"] == "SIGTERM"
    states = [json.loads(line).get("vllm_state") for line in stderr.splitlines() if "{" in line]
    assert [s for s in states if s] == ["starting", "ready", "stopping", "stopped"]


def test_cli_reports_manifest_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "tiny-chat" / "config.json").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "inference", "serve", "--backend", "vllm"],
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"model 'tiny-chat': {tmp_path / 'tiny-chat'} has no config.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "record.jsonl").exists()

"""``ragway run`` heals: a dead gateway, worker or Redis is restarted, a crash loop stops the
stack, and however the stack ends no embedded Postgres or Redis outlives it.

Real processes throughout: ``python -m gateway run`` on its own data dir and free ports.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.gateway.test_run_command import run_env, start_run, stop, wait_ready
from tests.support.net import free_port, wait_until


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    redis_port: int
    log: Path

    def pids(self) -> dict[str, int]:
        data = json.loads((self.data_dir / "stack.json").read_text())
        return {str(k): int(v) for k, v in data["pids"].items()}

    def restarts(self) -> dict[str, int]:
        data = json.loads((self.data_dir / "stack.json").read_text())
        return {str(k): int(v) for k, v in data["restarts"].items()}

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def _env(data_dir: Path, gateway_port: int, redis_port: int, metrics_port: int) -> dict[str, str]:
    return {
        **run_env(data_dir, gateway_port, redis_port),
        "RAGWAY_INGESTION__METRICS_PORT": str(metrics_port),
    }


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    data_dir = tmp_path / "data"
    gateway_port, redis_port = free_port(), free_port()
    log = tmp_path / "run.log"
    process = start_run(_env(data_dir, gateway_port, redis_port, 0), log)
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        wait_ready(process, url, log)
        yield Stack(process, url, data_dir, redis_port, log)
    finally:
        if process.poll() is None:
            stop(process)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _postmaster(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_killed_worker_is_restarted_and_the_gateway_keeps_serving(stack: Stack) -> None:
    worker = stack.pids()["worker"]
    failures: list[int] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=5) as client:
            while not done.is_set():
                try:
                    status = client.get(f"{stack.url}/readyz").status_code
                except httpx.TransportError:
                    status = 0
                if status != 200:
                    failures.append(status)
                done.wait(0.1)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: stack.pids().get("worker", worker) != worker, timeout_s=20)
        new_worker = stack.pids()["worker"]
        assert _alive(new_worker)
        assert stack.process.poll() is None
    finally:
        done.set()
        prober.join()
    assert failures == []
    assert stack.restarts()["worker"] == 1
    log = stack.log.read_text()
    assert "the worker process exited unexpectedly (killed by SIGKILL)" in log
    assert "restarting it in 0.5 s (restart 1)" in log
    assert stop(stack.process) == 0, log


def test_a_terminated_gateway_is_restarted(stack: Stack) -> None:
    gateway = stack.pids()["gateway"]
    os.kill(gateway, signal.SIGTERM)
    wait_until(lambda: stack.pids().get("gateway", gateway) != gateway, timeout_s=30)
    wait_until(stack.ready, timeout_s=30, interval_s=0.2)
    assert stack.process.poll() is None
    assert stack.restarts()["gateway"] == 1
    assert "the gateway process exited unexpectedly" in stack.log.read_text()
    assert stop(stack.process) == 0, stack.log.read_text()


def test_a_killed_redis_is_restarted_and_readiness_recovers(stack: Stack) -> None:
    redis_pid = stack.pids()["redis"]
    os.kill(redis_pid, signal.SIGKILL)
    wait_until(lambda: stack.pids().get("redis", redis_pid) != redis_pid, timeout_s=20)
    wait_until(stack.ready, timeout_s=30, interval_s=0.2)
    assert stack.process.poll() is None
    assert stack.restarts()["redis"] == 1
    assert "the redis process exited unexpectedly (killed by SIGKILL)" in stack.log.read_text()
    assert stop(stack.process) == 0, stack.log.read_text()


def test_a_crash_loop_stops_the_stack_and_its_services(tmp_path: Path) -> None:
    """The worker's metrics port is taken: every worker exits at start."""
    data_dir = tmp_path / "data"
    redis_port = free_port()
    log = tmp_path / "run.log"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        metrics_port = busy.getsockname()[1]
        process = start_run(_env(data_dir, free_port(), redis_port, metrics_port), log)
        try:
            code = process.wait(timeout=55)
        finally:
            if process.poll() is None:
                process.kill()
    output = log.read_text()
    assert code != 0, output
    assert "the worker process keeps crashing (5 times within 60 s" in output
    assert "restarting it in 4.0 s (restart 4)" in output
    assert "Traceback (most recent call last):\n  File" not in output.split("keeps crashing")[-1]
    postmaster = _postmaster(data_dir)
    assert postmaster is None or not _alive(postmaster), output
    assert not _port_open(redis_port)
    assert not (data_dir / "stack.json").exists()


def test_a_killed_supervisor_takes_its_services_with_it(stack: Stack) -> None:
    postmaster = _postmaster(stack.data_dir)
    assert postmaster is not None
    assert _alive(postmaster)
    pids = stack.pids()
    stack.process.kill()
    stack.process.wait()
    wait_until(
        lambda: not _alive(postmaster) and not any(_alive(pid) for pid in pids.values()),
        timeout_s=15,
        interval_s=0.2,
    )
    assert not _port_open(stack.redis_port)

    # The next run starts its own services (nothing left to adopt) and stops them.
    log = stack.log.with_name("again.log")
    port = free_port()
    again = start_run(_env(stack.data_dir, port, stack.redis_port, 0), log)
    try:
        wait_ready(again, f"http://127.0.0.1:{port}", log)
        assert _postmaster(stack.data_dir) not in (None, postmaster)
    finally:
        assert stop(again) == 0, log.read_text()
    assert _postmaster(stack.data_dir) is None

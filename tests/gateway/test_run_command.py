"""`ragway run` from a fresh data directory: serves, refuses a second run, stops, restarts."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from inference import die_with_parent
from tests.support.net import free_port, wait_until

KEY = re.compile(r"sk-rgw-[A-Za-z0-9_-]{20,}")


def run_env(data_dir: Path, gateway_port: int, redis_port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("RAGWAY_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        RAGWAY_DATA_DIR=str(data_dir),
        RAGWAY_GATEWAY__PORT=str(gateway_port),
        RAGWAY_EMBEDDED__REDIS_PORT=str(redis_port),
        RAGWAY_LOGGING__LEVEL="WARNING",
    )
    return env


def start_run(env: dict[str, str], log: Path, *, umask: int = 0o022) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            umask=umask,
            preexec_fn=die_with_parent,  # a killed test run leaves no stack behind
        )


def private_modes(folder: Path) -> dict[str, int]:
    """Every entry under ``folder`` (and itself) whose mode lets anyone but the owner in."""
    found = {".": folder.stat().st_mode & 0o777}
    found.update({str(p.relative_to(folder)): p.stat().st_mode & 0o777 for p in folder.rglob("*")})
    return {name: mode for name, mode in found.items() if mode & 0o077}


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"run exited early:\n{log.read_text()}")
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def announced() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"run exited early:\n{log.read_text()}")
        return "Press Ctrl-C to stop." in log.read_text()

    wait_until(ready, timeout_s=90, interval_s=0.2)
    # The banner waits for the embedder's model too (seconds of CPU; more on a loaded machine).
    wait_until(announced, timeout_s=90, interval_s=0.2)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``ragway ARGS`` as a user types it in another terminal (same data dir, no URLs)."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def test_run_serves_refuses_second_run_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    gateway_port, redis_port = free_port(), free_port()
    env = run_env(data_dir, gateway_port, redis_port)
    url = f"http://127.0.0.1:{gateway_port}"
    first_log = tmp_path / "first.log"
    # Left by an older release with the umask's modes; tightened at start.
    (data_dir / "redis").mkdir(parents=True, mode=0o755)
    (data_dir / "redis" / "redis.log").write_text("")
    (data_dir / "redis" / "redis.log").chmod(0o644)
    process = start_run(env, first_log, umask=0)  # files must be private whatever the umask
    try:
        wait_ready(process, url, first_log)
        output = first_log.read_text()
        keys = KEY.findall(output)
        assert keys, output
        admin_key = keys[0]

        second = subprocess.run(
            [sys.executable, "-m", "gateway", "run"],
            env=run_env(data_dir, free_port(), free_port()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "already running" in second.stderr
        assert str(process.pid) in second.stderr
        assert httpx.get(f"{url}/readyz").status_code == 200  # the first one is unharmed

        # A second shell with no URLs set finds the stack through <data_dir>/stack.json,
        # which only its owner may read (the URLs can carry credentials).
        assert (data_dir / "stack.json").stat().st_mode & 0o777 == 0o600
        created = cli(env, "keys", "create", "--name", "second-terminal")
        assert created.returncode == 0, created.stderr
        new_key = KEY.search(created.stdout)
        assert new_key, created.stdout
        assert "using the stack `ragway run` serves" in created.stderr
        models = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {new_key[0]}"})
        assert models.status_code == 200, models.text
        assert cli(env, "db", "status").returncode == 0

        # The embedded Redis needs the password kept in the data dir, which stack.json passes on;
        # the commands nobody here needs are gone; its files are the owner's only.
        redis_url = json.loads((data_dir / "stack.json").read_text())["redis_url"]
        password = (data_dir / "redis" / "password").read_text()
        assert len(password) >= 43
        assert redis_url == f"redis://:{password}@127.0.0.1:{redis_port}/0"
        assert password not in output
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=redis_port).set("intruder", "1")
        with redis.Redis.from_url(redis_url) as client:
            assert client.ping()
            for command in ("CONFIG GET dir", "DEBUG SLEEP 0", "MODULE LIST", "REPLICAOF NO ONE"):
                with pytest.raises(redis.ResponseError, match="unknown command"):
                    client.execute_command(*command.split())
            # The worker talks to it with the password (Dramatiq's heartbeat is there).
            wait_until(lambda: bool(client.keys("*heartbeats*")), timeout_s=30)
        assert (data_dir / "redis" / "appendonly.aof").exists()
        assert private_modes(data_dir / "redis") == {}
        assert data_dir.joinpath("postgres").stat().st_mode & 0o777 == 0o700
    finally:
        code = stop(process)
    assert code == 0, first_log.read_text()
    assert "ragway stopped" in first_log.read_text()
    # Every process it started is gone: the ports are closed and Postgres has stopped.
    for port in (gateway_port, redis_port):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still answers")
        except httpx.TransportError:
            pass
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    # Stopped: the file is gone, and the CLI says what to do instead of hanging on a dead URL.
    assert not (data_dir / "stack.json").exists()
    orphan = cli(env, "keys", "list")
    assert orphan.returncode != 0
    assert "no `ragway run` is serving" in orphan.stderr

    # A restart keeps the data: the admin key made on first start still works, no new one is made.
    second_log = tmp_path / "second.log"
    process = start_run(env, second_log)
    try:
        wait_ready(process, url, second_log)
        output = second_log.read_text()
        assert not KEY.findall(output)
        # Named by the marker and 4 characters (24 of 256 bits), never more.
        assert f"{admin_key[:11]}..." in output
        assert admin_key[:12] not in output
        assert redis_url in (data_dir / "stack.json").read_text()  # the same password
        socket_dir = data_dir / "postgres"
        with psycopg.connect(f"postgresql://postgres@/ragway?host={socket_dir}") as conn:
            row = conn.execute("SELECT count(*) FROM api_keys WHERE role = 'admin'").fetchone()
        assert row == (1,)
    finally:
        assert stop(process) == 0


def test_run_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "run"],
            env=run_env(tmp_path / "data", port, free_port()),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"port {port}" in result.stderr
    assert "already in use" in result.stderr


def test_run_refuses_a_guessable_admin_key(tmp_path: Path) -> None:
    weak = "Admin-Key-2024-prod!"  # 20 characters: accepted before, about 100 bits at best
    env = {**run_env(tmp_path / "data", free_port(), free_port()), "RAGWAY_ADMIN_KEY": weak}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "RAGWAY_ADMIN_KEY is too easy to guess" in result.stderr
    assert "at least 128 bits of entropy" in result.stderr
    assert weak not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr

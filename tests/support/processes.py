"""A ``ragway gateway`` process a test owns: started, waited for, stopped by signal.

Unlike ``start_process``, it captures the process's log in a file (so a test can read the
lines an operator would see) and hands back the exit code of a stop.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from openai import OpenAI

from gateway.policy.keys import new_key
from inference import die_with_parent
from tests.support.net import free_port, wait_until
from tests.support.servers import start_process

__all__ = ["ApiStack", "GatewayProcess", "gateway_pair", "hello_app", "insert_key"]


class GatewayProcess:
    """``python -m gateway gateway`` on a free loopback port, its output in ``log``."""

    def __init__(self, env: Mapping[str, str], log: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._env = {**os.environ, **env, "RAGWAY_GATEWAY__PORT": str(self.port)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout_s: float = 60.0) -> GatewayProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "gateway"],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # never outlives a killed test run
            )
        wait_until(self._ready, timeout_s=timeout_s, interval_s=0.1)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"gateway exited with {self.process.returncode} before it was ready:\n"
                + self.log_text()[-3000:]
            )
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def signal(self, sig: signal.Signals = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, *, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def stop(self, *, timeout_s: float = 30.0) -> int:
        """SIGTERM, then the exit code; SIGKILL if it does not stop within ``timeout_s``."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()


@contextmanager
def gateway_pair(env: Mapping[str, str], logs: Path) -> Iterator[tuple[str, str]]:
    """Two gateway processes on one environment; their base URLs.

    Started one after the other from the calling thread: a process dies with the thread
    that started it (``die_with_parent``), so a pool thread would take it down on exit."""
    processes = [GatewayProcess(env, logs / f"gateway-{name}.log") for name in "ab"]
    try:
        for process in processes:
            process.start()
        yield processes[0].url, processes[1].url
    finally:
        for process in processes:
            if process.process is not None and process.process.poll() is None:
                process.stop()


def insert_key(
    database_url: str,
    name: str,
    *,
    role: str = "admin",
    readable: Sequence[str] = ("*",),
    rpm: int | None = None,
) -> tuple[str, str]:
    """A new API key straight in the database: ``(key id, plaintext)``."""
    key = new_key()
    key_id = f"key_{secrets.token_hex(8)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
            "readable_collections, rpm) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (key_id, key.key_hash, key.display_prefix, name, role, list(readable), rpm),
        )
    return key_id, key.plaintext


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest ASGI app: answers every request ``200 hello`` (for server tests)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@dataclass
class ApiStack:
    """A ``ragway gateway`` and a ``ragway worker`` of a test package's own, with an admin
    and a member key: what the batch and background-response tests drive with the SDK."""

    url: str
    env: dict[str, str]
    database_url: str
    admin_key: str
    member_key: str
    member_id: str
    worker: subprocess.Popen[bytes]

    def client(self, key: str | None = None) -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=key or self.admin_key, max_retries=0)

    def stop_worker(self) -> None:
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            self.worker.wait(timeout=30)

    def restart_worker(self, *, kill: bool) -> None:
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.worker.wait(timeout=30)
        self.worker = start_process(["worker"], self.env)

"""The stack under soak, started the way production starts it: ``ragway run``.

``ragway run`` (the supervisor) starts an embedded Postgres with pgvector and an embedded
Redis (or uses ``DATABASE_URL`` / ``REDIS_URL`` when they are set), applies migrations,
makes sure the admin key exists and spawns the ``ragway gateway`` and ``ragway worker``
processes. Beside it runs the fake upstream (``tests.soak._upstream``), configured as the
deployment of the ``soak-chat`` and ``soak-embed`` aliases. Everything lives in one
temporary data directory on loopback ports of its own, so a soak never touches another
stack on the machine.

Every process started here gets its own session (process group) and dies with its parent;
``stop`` asks the supervisor to stop in order and kills whatever is left after a grace
period, Postgres included.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from inference import die_with_parent
from tests.soak._memory import alive, cmdline, descendants, process_table
from tests.support.net import free_port, wait_until

__all__ = ["CHAT_MODEL", "EMBED_MODEL", "Stack"]

CHAT_MODEL = "soak-chat"
EMBED_MODEL = "soak-embed"
_REPO = Path(__file__).resolve().parents[2]


def _models(upstream: str) -> dict[str, object]:
    def deployment(name: str, model: str) -> dict[str, object]:
        return {
            "name": name,
            "provider": "openai",
            "model": model,
            "base_url": upstream,
            "timeout_s": 30,
            "context_window": 16384,
        }

    # the soak upstream speaks chat completions only: /v1/responses is translated to it
    chat = {**deployment("fake-chat", "fake-chat"), "responses_api": "translate"}
    return {
        CHAT_MODEL: {"deployments": [chat]},
        EMBED_MODEL: {
            "type": "embedding",
            "deployments": [deployment("fake-embed", "fake-embed")],
        },
    }


@dataclass
class Stack:
    """Start with ``stack.start()``; ``stack.stop()`` always, even after a failed start."""

    log_path: Path
    ready_timeout_s: float = 240.0
    stop_timeout_s: float = 60.0
    admin_key: str = field(default_factory=lambda: "sk-soak-" + secrets.token_hex(20))
    base_url: str = ""
    roots: dict[str, int | None] = field(default_factory=dict)
    _folder: Path | None = None
    _upstream: subprocess.Popen[bytes] | None = None
    _supervisor: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        """Start everything and wait until the gateway is ready; raises if it is not."""
        self._folder = Path(tempfile.mkdtemp(prefix="ragway-soak-"))
        os.chmod(self._folder, 0o755)  # the embedded Postgres runs as its own OS user
        self._log = self.log_path.open("ab")
        upstream_port, gateway_port = free_port(), free_port()
        upstream = [sys.executable, "-m", "tests.soak._upstream", str(upstream_port)]
        self._upstream = self._spawn(upstream, dict(os.environ))
        wait_until(lambda: _listening(upstream_port), timeout_s=30, interval_s=0.1)
        env = {
            **os.environ,
            "RAGWAY_CONFIG": "",
            "RAGWAY_DATA_DIR": str(self._folder / "data"),
            "RAGWAY_GATEWAY__PORT": str(gateway_port),
            "RAGWAY_EMBEDDED__REDIS_PORT": str(free_port()),
            "RAGWAY_INGESTION__METRICS_PORT": "0",
            "RAGWAY_PROVIDERS__MODELS": json.dumps(_models(f"http://127.0.0.1:{upstream_port}/v1")),
            "RAGWAY_ADMIN_KEY": self.admin_key,
        }
        self._supervisor = self._spawn([sys.executable, "-m", "gateway", "run"], env)
        self.base_url = f"http://127.0.0.1:{gateway_port}"
        deadline = time.monotonic() + self.ready_timeout_s
        while not self._ready():
            if self._supervisor.poll() is not None:
                raise RuntimeError(f"`ragway run` exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the stack was not ready in time; see {self.log_path}")
            time.sleep(0.5)
        self.roots = self._find_roots()

    def _spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            cwd=_REPO,
            env=env,
            stdout=self._log,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: Ctrl-C at the terminal reaches us only
            preexec_fn=die_with_parent,
        )

    def _ready(self) -> bool:
        """The gateway answers ready and ``ragway run`` printed its banner (which waits for
        the shared embedder as well)."""
        try:
            if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code != 200:
                return False
        except httpx.TransportError:
            return False
        return b"Press Ctrl-C to stop." in self.log_path.read_bytes()

    def _find_roots(self) -> dict[str, int | None]:
        """The root process of each role (None: not on this machine, e.g. an external URL)."""
        assert self._supervisor is not None
        assert self._upstream is not None
        table = process_table()
        children = [pid for pid, parent in table.items() if parent == self._supervisor.pid]
        roots: dict[str, int | None] = {
            "supervisor": self._supervisor.pid,
            "gateway": _child_running(children, "gateway"),
            "worker": _child_running(children, "worker"),
            "embedder": _child_running(children, "embedder"),
            "redis": next((p for p in children if "redis-server" in " ".join(cmdline(p))), None),
            "postgres": self._postmaster(),
            "upstream": self._upstream.pid,
        }
        return roots

    def _postmaster(self) -> int | None:
        assert self._folder is not None
        pid_file = self._folder / "data" / "postgres" / "postmaster.pid"
        if not pid_file.exists():
            return None
        return int(pid_file.read_text().split("\n", 1)[0])

    def stop(self) -> list[str]:
        """Stop everything; returns what had to be killed (empty after a clean stop)."""
        killed: list[str] = []
        table = process_table()
        # Every process the stack holds now, found before the supervisor stops them.
        left = {pid for root in self.roots.values() if root for pid in descendants(root, table)}
        if self._supervisor is not None and self._supervisor.poll() is None:
            self._supervisor.send_signal(signal.SIGTERM)
            try:
                self._supervisor.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                killed.append(f"supervisor {self._supervisor.pid}")
                _kill_group(self._supervisor.pid)
                self._supervisor.wait()
        if self._upstream is not None and self._upstream.poll() is None:
            self._upstream.terminate()
            try:
                self._upstream.wait(10)
            except subprocess.TimeoutExpired:
                self._upstream.kill()
                self._upstream.wait()
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not any(alive(pid) for pid in left), timeout_s=15, interval_s=0.2)
        for pid in sorted(left):
            if alive(pid):
                killed.append(f"{pid} {' '.join(cmdline(pid))[:80]}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        return killed


def _child_running(children: list[int], command: str) -> int | None:
    """The child started as ``python -m gateway <command> ...``."""
    for pid in children:
        args = cmdline(pid)
        if "gateway" in args and args[args.index("gateway") + 1 :][:1] == [command]:
            return pid
    return None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.TransportError:
        return False
    return True

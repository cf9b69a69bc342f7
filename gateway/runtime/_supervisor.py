"""``ragway run``: the whole stack in the foreground, stopped cleanly by Ctrl-C.

Start order: lock the data directory, embedded Postgres and Redis (only for the URLs
not configured), ``stack.json`` (so the CLI in another shell finds them), migrations, the
admin key, then the gateway and worker processes.
Stop order is the reverse. A child that exits on its own stops the whole stack.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from configs import Settings, SettingsError
from gateway.keys import SUPPLIED_DISPLAY, BootstrapResult, ensure_admin_key
from gateway.runtime._lock import RunLock
from gateway.runtime._postgres import EmbeddedPostgres
from gateway.runtime._redis import EmbeddedRedis, stored_password
from gateway.runtime._stackfile import RunningStack, StackFile
from inference import die_with_parent
from ingestion.db import migrate_when_ready

__all__ = ["StackError", "Supervisor"]

_log = logging.getLogger(__name__)


class StackError(Exception):
    """The stack could not start, or a process of it died."""


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class Supervisor:
    """Owns every process ``ragway run`` starts."""

    settings: Settings
    say: Callable[[str], None] = print
    python: str = sys.executable
    ready_timeout_s: float = 120.0
    _children: list[_Child] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def run(self, stop: threading.Event) -> int:
        """Start everything, wait for ``stop`` (or a child's death), stop everything."""
        try:
            admin = self._start(stop)
            if stop.is_set():
                return 0
            self._wait_ready(admin, stop)
            return self._watch(stop)
        finally:
            self._stop_all()

    def _start(self, stop: threading.Event) -> BootstrapResult:
        settings = self.settings
        data_dir = settings.data_dir.resolve()
        gateway_url = f"http://{settings.gateway.host}:{settings.gateway.port}"
        lock = RunLock(data_dir / "run.lock")
        lock.acquire({"gateway": gateway_url})
        self._cleanups.append(lock.release)
        _ensure_port_free(settings.gateway.host, settings.gateway.port, "gateway.port")

        env = dict(os.environ)
        env["RAGWAY_DATA_DIR"] = str(data_dir)
        database_url = _secret(settings.database.url)
        if database_url is None:
            if not settings.embedded.postgres:
                raise SettingsError("DATABASE_URL is not set and embedded.postgres is false")
            self.say(f"starting embedded Postgres (pgvector) in {data_dir / 'postgres'}")
            postgres = EmbeddedPostgres(data_dir / "postgres")
            database_url = postgres.start()
            self._cleanups.append(postgres.stop)
        redis_url = _secret(settings.redis.url)
        if redis_url is None:
            if not settings.embedded.redis:
                raise SettingsError("REDIS_URL is not set and embedded.redis is false")
            _ensure_port_free("127.0.0.1", settings.embedded.redis_port, "embedded.redis_port")
            self.say(f"starting embedded Redis in {data_dir / 'redis'}")
            redis_dir = data_dir / "redis"
            redis_server = EmbeddedRedis(
                redis_dir, port=settings.embedded.redis_port, password=stored_password(redis_dir)
            )
            redis_url = redis_server.start()
            self._cleanups.append(redis_server.stop)
        env["DATABASE_URL"] = database_url
        env["REDIS_URL"] = redis_url
        stack_file = StackFile(data_dir)
        stack_file.write(RunningStack(database_url, redis_url, gateway_url, os.getpid()))
        self._cleanups.append(stack_file.remove)

        applied = asyncio.run(
            migrate_when_ready(database_url, wait_s=settings.database.migrate_wait_s)
        )
        self.say(f"database migrated ({len(applied)} new migration(s) applied)")
        admin = asyncio.run(ensure_admin_key(database_url, _secret(settings.admin_key)))
        if not stop.is_set():
            self._spawn("worker", env)
            self._spawn("gateway", env)
        return admin

    def _spawn(self, name: str, env: dict[str, str]) -> None:
        process = subprocess.Popen(
            [self.python, "-m", "gateway", name],
            env=env,
            # Own session: Ctrl-C reaches only the supervisor, which stops children in order.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._children.append(_Child(name, process))

    def _wait_ready(self, admin: BootstrapResult, stop: threading.Event) -> None:
        gw = self.settings.gateway
        url = f"http://{gw.host}:{gw.port}"
        deadline = time.monotonic() + self.ready_timeout_s
        with httpx.Client(timeout=2.0) as client:
            while not stop.is_set():
                self._check_children()
                try:
                    if client.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(f"the gateway did not become ready at {url} in time")
                stop.wait(0.25)
        if not stop.is_set():
            self.say(_banner(url, admin))

    def _watch(self, stop: threading.Event) -> int:
        while not stop.wait(0.5):
            self._check_children()
        self.say("stopping ragway ...")
        return 0

    def _check_children(self) -> None:
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                raise StackError(f"the {child.name} process exited unexpectedly (code {code})")

    def _stop_all(self) -> None:
        # gateway first (stops taking requests), then the worker, then the services.
        for child in reversed(self._children):
            if child.process.poll() is None:
                child.process.terminate()
        timeout = self.settings.gateway.graceful_timeout_s + 5
        for child in reversed(self._children):
            try:
                child.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _log.warning("%s did not stop in time; killing it", child.name)
                child.process.kill()
                child.process.wait()
        self._children.clear()
        while self._cleanups:
            self._cleanups.pop()()


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else None


def _ensure_port_free(host: str, port: int, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StackError(
                f"port {port} on {host} is already in use ({exc.strerror}); "
                f"choose another with {setting} (e.g. RAGWAY_{setting.upper().replace('.', '__')})"
            ) from exc


def _banner(url: str, admin: BootstrapResult) -> str:
    lines = ["", f"ragway is up: {url}  (readiness: {url}/readyz, API docs: {url}/openapi)"]
    if admin.plaintext:
        lines += [
            "",
            "An admin API key was created. It is shown only this once; keep it safe:",
            "",
            f"    {admin.plaintext}",
            "",
            "Use it as a bearer token, e.g.:",
            f"    export OPENAI_BASE_URL={url}/v1 OPENAI_API_KEY={admin.plaintext}",
            f'    curl -H "Authorization: Bearer $OPENAI_API_KEY" {url}/v1/models',
        ]
    elif admin.display_prefix == SUPPLIED_DISPLAY:
        lines.append(f"Admin key: the one in RAGWAY_ADMIN_KEY (id {admin.key_id})")
    else:
        lines.append(
            f"Admin key: {admin.label}, created earlier; set RAGWAY_ADMIN_KEY to use your own "
            "(≥ 128 bits), or create one with `ragway keys create --role admin`"
        )
    lines += ["", "Press Ctrl-C to stop.", ""]
    return "\n".join(lines)

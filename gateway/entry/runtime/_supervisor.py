"""``ragway run``: the whole stack in the foreground, stopped cleanly by Ctrl-C.

Start order: data-directory lock, embedded Postgres and Redis (for unconfigured URLs),
``stack.json``, migrations, admin key, shared embedder, then gateway and worker; stop order is
the reverse, so the embedder outlives its last caller. Every child is restarted with backoff
(``RestartPolicy``) and one that keeps crashing stops the stack with an error. Children die with
the supervisor (``PR_SET_PDEATHSIG``); daemonized Postgres is stopped by a watchdog instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import httpx
from pydantic import SecretStr

from configs import LocalEmbedderSettings, Settings, SettingsError
from gateway.entry.runtime._lock import RunLock
from gateway.entry.runtime._postgres import EmbeddedPostgres
from gateway.entry.runtime._redis import EmbeddedRedis, stored_password
from gateway.entry.runtime._restarts import CrashLoopError, RestartPolicy, Restarts, describe_exit
from gateway.entry.runtime._stackfile import RunningStack, StackFile
from gateway.policy.keys import SUPPLIED_DISPLAY, BootstrapResult, ensure_admin_key
from inference import die_with_parent
from ingestion.db import migrate_when_ready

__all__ = ["StackError", "Supervisor"]

_log = logging.getLogger(__name__)

_SHARED_SOCKET_ENV = "RAGWAY_INFERENCE__EMBEDDER__SHARED_SOCKET"
_SOCKET_NAME = "embedder.sock"
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class StackError(Exception):
    """The stack could not start, or a process of it died."""


class _Unit(Protocol):
    """A process the supervisor restarts when it dies."""

    @property
    def pid(self) -> int | None: ...

    def exited(self) -> str | None:
        """``None`` while it runs, else how it ended (``killed by SIGKILL``)."""

    def restart(self) -> object: ...


@dataclass
class _Child:
    """A ``python -m gateway <name>`` child: own session, dies with the supervisor."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    serves_children: bool = False  # stopped after the children that are not

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def restart(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            # Own session: Ctrl-C reaches only the supervisor, which stops children in order.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def exited(self) -> str | None:
        code = self.process.poll() if self.process is not None else None
        return None if code is None else describe_exit(code)


@dataclass
class _Supervised:
    name: str
    unit: _Unit
    restarts: Restarts
    due: float | None = None  # while dead: when it is restarted


@dataclass
class Supervisor:
    """Owns every process ``ragway run`` starts."""

    settings: Settings
    say: Callable[[str], None] = print
    python: str = sys.executable
    ready_timeout_s: float = 120.0
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    _children: list[_Child] = field(default_factory=list)
    _supervised: list[_Supervised] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)
    _stack: RunningStack | None = None
    _stack_file: StackFile | None = None
    _embedder_socket: Path | None = None

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
            self._supervise("postgres", postgres)
        redis_url = _secret(settings.redis.url)
        if settings.redis.sentinel.enabled:
            redis_url = None  # the sentinels name the master: nothing to start
            self.say(f"Redis through Sentinel ({settings.redis.sentinel.service_name})")
        elif redis_url is None:
            if not settings.embedded.redis:
                raise SettingsError("REDIS_URL is not set and embedded.redis is false")
            _ensure_port_free("127.0.0.1", settings.embedded.redis_port, "embedded.redis_port")
            self.say(f"starting embedded Redis in {data_dir / 'redis'}")
            redis_dir = data_dir / "redis"
            redis_server = EmbeddedRedis(
                redis_dir, port=settings.embedded.redis_port, password=stored_password(redis_dir)
            )
            self._cleanups.append(redis_server.stop)
            redis_url = redis_server.start()
            self._supervise("redis", redis_server)
        env["DATABASE_URL"] = database_url
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
        if settings.queue.kind == "rabbitmq":
            self.say("jobs go through RabbitMQ (RABBITMQ_URL)")
        self._stack_file = StackFile(data_dir)
        self._stack = RunningStack(database_url, redis_url or "", gateway_url, os.getpid())
        self._record()
        self._cleanups.append(self._stack_file.remove)

        applied = asyncio.run(
            migrate_when_ready(database_url, wait_s=settings.database.migrate_wait_s)
        )
        self.say(f"database migrated ({len(applied)} new migration(s) applied)")
        admin = asyncio.run(ensure_admin_key(database_url, _secret(settings.admin_key)))
        if not stop.is_set():
            self._share_embedder(env)
            self._spawn("worker", env)
            self._spawn("gateway", env)
            self._record()
        return admin

    def _share_embedder(self, env: dict[str, str]) -> None:
        """Start ``ragway embedder`` and point the gateway and worker at it, when the
        embedder is local, ``embedded.embedder`` is on and no shared socket is configured."""
        embedder = self.settings.inference.embedder
        if not (
            self.settings.embedded.embedder
            and isinstance(embedder, LocalEmbedderSettings)
            and embedder.shared_socket is None
        ):
            return
        path = self._embedder_socket = self._private_socket_path()
        self._spawn("embedder", env, "--socket", str(path), serves_children=True)
        env[_SHARED_SOCKET_ENV] = str(path)

    def _private_socket_path(self) -> Path:
        """``<data_dir>/run/embedder.sock`` in a 0700 folder, or a fresh 0700 folder under
        the temporary directory when that path is too long for a Unix socket."""
        folder = self.settings.data_dir.resolve() / "run"
        if len(bytes(folder / _SOCKET_NAME)) > _MAX_SOCKET_PATH:
            folder = Path(tempfile.mkdtemp(prefix="ragway-"))
            self._cleanups.append(lambda: shutil.rmtree(folder, ignore_errors=True))
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
        return folder / _SOCKET_NAME

    def _spawn(
        self, name: str, env: dict[str, str], *args: str, serves_children: bool = False
    ) -> None:
        argv = [self.python, "-m", "gateway", name, *args]
        child = _Child(name, argv, dict(env), serves_children=serves_children)
        child.restart()
        self._children.append(child)
        self._supervise(name, child)

    def _supervise(self, name: str, unit: _Unit) -> None:
        restarts = Restarts(name, self.policy)
        restarts.started()
        self._supervised.append(_Supervised(name, unit, restarts))

    def _record(self) -> None:
        """``stack.json`` with the current pids and restart counts."""
        if self._stack is None or self._stack_file is None:
            return
        pids = {s.name: pid for s in self._supervised if (pid := s.unit.pid) is not None}
        restarts = {s.name: s.restarts.count for s in self._supervised}
        self._stack_file.write(replace(self._stack, pids=pids, restarts=restarts))

    def _wait_ready(self, admin: BootstrapResult, stop: threading.Event) -> None:
        gw = self.settings.gateway
        url = f"http://{gw.host}:{gw.port}"
        deadline = time.monotonic() + self.ready_timeout_s
        with httpx.Client(timeout=2.0) as client:
            self._wait_until(stop, deadline, lambda: _answers(client, f"{url}/readyz"), url)
        if self._embedder_socket is not None:  # searches and ingestion work from the banner on
            transport = httpx.HTTPTransport(uds=str(self._embedder_socket))
            with httpx.Client(timeout=2.0, transport=transport) as client:
                health = "http://ragway-embedder/health"
                self._wait_until(stop, deadline, lambda: _answers(client, health), "embedder")
        if not stop.is_set():
            self.say(_banner(url, admin, console=self.settings.console.enabled))

    def _wait_until(
        self, stop: threading.Event, deadline: float, ready: Callable[[], bool], what: str
    ) -> None:
        while not stop.is_set():
            self._tend()
            if ready():
                return
            if time.monotonic() > deadline:
                raise StackError(f"the {what} did not become ready in time")
            stop.wait(0.25)

    def _watch(self, stop: threading.Event) -> int:
        while not stop.wait(0.25):
            self._tend()
        self.say("stopping ragway ...")
        return 0

    def _tend(self) -> None:
        """Notice what died, restart what is due; ``StackError`` when one keeps crashing."""
        changed = False
        for supervised in self._supervised:
            if supervised.due is None:
                how = supervised.unit.exited()
                if how is not None:
                    self._crashed(supervised, f"exited unexpectedly ({how})")
            elif time.monotonic() >= supervised.due:
                try:
                    supervised.unit.restart()
                except Exception as exc:  # noqa: BLE001 - counted as a crash; the limit stops us
                    self._crashed(supervised, f"failed to restart ({exc})")
                    continue
                supervised.due = None
                supervised.restarts.started()
                changed = True
                _log.warning("%s restarted (pid %s)", supervised.name, supervised.unit.pid)
        if changed:
            self._record()

    def _crashed(self, supervised: _Supervised, what: str) -> None:
        try:
            delay = supervised.restarts.crashed(what)
        except CrashLoopError as exc:
            raise StackError(str(exc)) from None
        supervised.due = time.monotonic() + delay
        _log.warning(
            "the %s process %s; restarting it in %.1f s (restart %d)",
            supervised.name,
            what,
            delay,
            supervised.restarts.count,
        )

    def _stop_all(self) -> None:
        # gateway first (stops taking requests) and the worker, then what serves them (the
        # embedder), then the services.
        self._supervised.clear()
        children = list(reversed(self._children))
        self._stop([c for c in children if not c.serves_children])
        self._stop([c for c in children if c.serves_children])
        self._children.clear()
        while self._cleanups:
            self._cleanups.pop()()

    def _stop(self, children: list[_Child]) -> None:
        running = [(c.name, c.process) for c in children if c.process]
        for _name, process in running:
            if process.poll() is None:
                process.terminate()
        timeout = self.settings.gateway.graceful_timeout_s + 5
        for name, process in running:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _log.warning("%s did not stop in time; killing it", name)
                process.kill()
                process.wait()


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url).status_code == 200
    except httpx.TransportError:
        return False


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


def _banner(url: str, admin: BootstrapResult, *, console: bool = True) -> str:
    lines = ["", f"ragway is up: {url}  (readiness: {url}/readyz, API docs: {url}/openapi)"]
    if console:
        lines.append(f"Console: {url}/console/  (sign in with an API key)")
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

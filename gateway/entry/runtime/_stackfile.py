"""``<data_dir>/stack.json``: where a running ``ragway run`` serves, for commands in another shell.

The supervisor writes its services' URLs (mode 0600: they can carry credentials), pids and
restart counts here once they are up, and removes the file when it stops. A reader trusts the
file only while the data directory's run lock is held, so a killed stack's file is never used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from configs import Settings

__all__ = ["RunningStack", "StackFile", "with_running_stack"]

_NAME = "stack.json"
_LOCK = "run.lock"


@dataclass(frozen=True)
class RunningStack:
    """The URLs of the stack ``ragway run`` serves from a data directory."""

    database_url: str
    redis_url: str  # "" when Redis Sentinel names the master
    gateway_url: str
    pid: int
    # What ``ragway run`` supervises: each process's current pid and how often it restarted it.
    pids: dict[str, int] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)


class StackFile:
    """Writes, removes and reads ``<data_dir>/stack.json``."""

    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir
        self.path = data_dir / _NAME

    def write(self, stack: RunningStack) -> None:
        """Replace the file atomically; it is created readable by its owner only."""
        self._dir.mkdir(parents=True, exist_ok=True)
        tmp = self._dir / f".{_NAME}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
            os.write(fd, json.dumps(vars(stack)).encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def read_running(self) -> RunningStack | None:
        """The stack recorded here, if a ``ragway run`` still holds this data directory."""
        if not _lock_held(self._dir / _LOCK):
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return RunningStack(
                database_url=str(data["database_url"]),
                redis_url=str(data["redis_url"]),
                gateway_url=str(data["gateway_url"]),
                pid=int(data["pid"]),
                pids={str(k): int(v) for k, v in data.get("pids", {}).items()},
                restarts={str(k): int(v) for k, v in data.get("restarts", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _lock_held(path: Path) -> bool:
    """Whether another process holds ``path``'s ``flock`` (the run lock of a live stack)."""
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def with_running_stack(settings: Settings) -> tuple[Settings, RunningStack | None]:
    """``settings`` with the running stack's URLs where none is configured, and that stack.

    Configured URLs (``DATABASE_URL``, ``REDIS_URL``) always win; the stack is returned only
    when it supplied at least one of them.
    """
    if settings.database.url is not None and settings.redis.url is not None:
        return settings, None
    stack = StackFile(settings.data_dir.resolve()).read_running()
    if stack is None:
        return settings, None
    database = settings.database
    if database.url is None:
        database = database.model_copy(update={"url": SecretStr(stack.database_url)})
    redis = settings.redis
    if redis.url is None and stack.redis_url:
        redis = redis.model_copy(update={"url": SecretStr(stack.redis_url)})
    return settings.model_copy(update={"database": database, "redis": redis}), stack

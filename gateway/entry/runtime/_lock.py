"""One ``ragway run`` per data directory: an exclusive lock file that records who holds it."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

__all__ = ["AlreadyRunningError", "RunLock"]


class AlreadyRunningError(Exception):
    """Another ``ragway run`` holds this data directory."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.holder = holder
        where = f" (pid {holder['pid']}, gateway {holder.get('gateway', '?')})" if holder else ""
        super().__init__(
            f"ragway is already running from {path.parent}{where}; stop it with Ctrl-C "
            "(or SIGTERM to that pid) first, or use another data directory (RAGWAY_DATA_DIR)"
        )


class RunLock:
    """``flock`` on ``<data_dir>/run.lock``; released by the kernel if the holder dies."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def acquire(self, info: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            try:
                holder = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError:
                holder = {}
            raise AlreadyRunningError(self._path, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), **info}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

"""An embedded Postgres with pgvector (pgserver), kept under the data directory.

This class owns the server's life, not pgserver's ``.handle_pids.json`` (which a killed run
leaves stale): the run lock says nobody else uses the folder, a postmaster found running at
start is a leftover and is stopped, ``stop`` always runs ``pg_ctl stop``, and a watchdog
(``_pg_watchdog.py``) stops the server if the supervisor dies first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["EmbeddedPostgres"]

_log = logging.getLogger(__name__)
DATABASE = "ragway"
_WATCHDOG = Path(__file__).with_name("_pg_watchdog.py")


class EmbeddedPostgres:
    """Starts the server in ``folder``, restarts it after a crash and stops it when closed.

    pgserver listens on a unix socket only, so it never collides with a Postgres on 5432.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder.resolve()
        self._database = DATABASE
        self._server: Any = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    def start(self, *, database: str = DATABASE) -> str:
        """Start the server, create ``database`` if missing, and return its URL."""
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._folder.chmod(0o700)  # initdb's mode; the data is the owner's only, whatever the umask
        self._database = database
        self._stop_leftover()
        self._open()
        admin_url: str = self._server.get_uri()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"'.encode())
        self._start_watchdog()
        _log.info("embedded postgres ready", extra={"data": str(self._folder)})
        return self.url

    @property
    def url(self) -> str:
        return str(self._server.get_uri(self._database))

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while the server runs."""
        pid = _postmaster_pid(self._folder)
        return pid if pid is not None and _alive(pid) else None

    def exited(self) -> str | None:
        """``None`` while the postmaster runs, else how it ended (it is not our child)."""
        if self._server is None:
            return None
        pid = self._server.get_pid()
        return None if _alive(pid) else f"its postmaster (pid {pid}) is gone"

    def restart(self) -> str:
        """Start the server again after it died; the URL is the same socket as before."""
        self._stop_leftover()
        self._open()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._pg_ctl_stop()
            self._server = None
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait()
            self._watchdog = None

    def _open(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); /tmp is fine here.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import (
                PostgresServer,
            )  # lazy: only processes that embed Postgres

            # cleanup_mode=None: we stop the server ourselves (see the module docstring).
            self._server = PostgresServer(self._folder, cleanup_mode=None)

    def _stop_leftover(self) -> None:
        """Stop a postmaster still running in the folder (its ``ragway run`` died), and forget
        what pgserver recorded about earlier processes."""
        with contextlib.suppress(FileNotFoundError):
            (self._folder / ".handle_pids.json").unlink()
        pid = _postmaster_pid(self._folder)
        if pid is None:
            return
        if not _alive(pid):
            # A postmaster killed outright leaves its pid file; Postgres would refuse to start
            # while that pid is a zombie nobody reaped.
            with contextlib.suppress(FileNotFoundError):
                (self._folder / "postmaster.pid").unlink()
            return
        _log.warning(
            "stopping a Postgres left running in %s by an earlier ragway run (pid %s)",
            self._folder,
            pid,
        )
        self._pg_ctl_stop()

    def _pg_ctl_stop(self) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        pid = _postmaster_pid(self._folder)
        if pid is None or not _alive(pid):
            return
        pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        done = subprocess.run(
            [pg_ctl, "-D", str(self._folder), "-m", "fast", "-w", "-t", "30", "stop"],
            capture_output=True,
            check=False,
            user=_server_user(),
        )
        if done.returncode != 0 and _alive(pid):
            _log.warning("pg_ctl stop failed; killing the postmaster (pid %s)", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _start_watchdog(self) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        if self._watchdog is not None:
            return
        pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        self._watchdog = subprocess.Popen(
            [sys.executable, "-I", str(_WATCHDOG), pg_ctl, str(self._folder), _server_user() or ""],
            stdin=subprocess.PIPE,
            # Own session: Ctrl-C or a signal to the stack's group must not end it early.
            start_new_session=True,
        )


def _server_user() -> str | None:
    """The user pgserver runs Postgres as: ours, or ``pgserver`` when we are root (Postgres
    refuses to run as root; so does ``pg_ctl``)."""
    return "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def _postmaster_pid(folder: Path) -> int | None:
    try:
        first = (folder / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0]
        return int(first)
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (killed, not yet reaped by init) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc: not Linux, and a zombie looks alive there
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]

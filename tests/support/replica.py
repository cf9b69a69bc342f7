"""A real streaming replica of an embedded Postgres (pgserver's binaries), for read-replica tests.

``pg_basebackup -R`` copies the primary's cluster and writes its ``primary_conninfo``; the
replica's postmaster runs as a child of the test (dying with it), on a unix socket in its own
folder, as the user the primary runs as. Replay can be paused, which is how a test shows a
query went to the replica: rows committed on the primary meanwhile are not there.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from inference import die_with_parent
from tests.support.net import wait_until

__all__ = ["StreamingReplica", "streaming_replica"]


@dataclass(frozen=True)
class StreamingReplica:
    """A hot standby: ``url_for`` names one of its databases; replay can be paused."""

    folder: Path
    primary_url: str

    def url_for(self, database_url: str) -> str:
        """``database_url``'s database (on the primary), as the replica serves it."""
        return make_conninfo(database_url, host=str(self.folder))

    def pause_replay(self) -> None:
        self._execute("SELECT pg_wal_replay_pause()")
        wait_until(lambda: self._scalar("SELECT pg_get_wal_replay_pause_state()") == "paused")

    def resume_replay(self) -> None:
        self._execute("SELECT pg_wal_replay_resume()")

    def catch_up(self, *, timeout_s: float = 30.0) -> None:
        """Wait until the replica has replayed everything the primary committed so far."""
        with psycopg.connect(self.primary_url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        wait_until(
            lambda: self._scalar(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is True,
            timeout_s=timeout_s,
        )

    def in_recovery(self) -> bool:
        return self._scalar("SELECT pg_is_in_recovery()") is True

    def _execute(self, sql: str) -> None:
        with psycopg.connect(self.url_for(self.primary_url), autocommit=True) as conn:
            conn.execute(sql.encode())

    def _scalar(self, sql: str) -> object:
        with psycopg.connect(self.url_for(self.primary_url), autocommit=True) as conn:
            row = conn.execute(sql.encode()).fetchone()
        assert row is not None
        return row[0]


@contextmanager
def streaming_replica(primary_url: str, folder: Path) -> Iterator[StreamingReplica]:
    """A replica of the (embedded, unix-socket) primary at ``primary_url``, in ``folder``."""
    from pgserver._commands import POSTGRES_BIN_PATH

    socket_dir = conninfo_to_dict(primary_url).get("host")
    if not socket_dir or not str(socket_dir).startswith("/"):
        raise ValueError("streaming_replica needs an embedded primary (a unix socket URL)")
    user = _server_user()
    folder.mkdir(mode=0o700, parents=True)
    if user is not None:
        account = pwd.getpwnam(user)
        os.chown(folder, account.pw_uid, account.pw_gid)
    subprocess.run(
        [
            str(POSTGRES_BIN_PATH / "pg_basebackup"),
            *("-h", str(socket_dir), "-U", "postgres", "-D", str(folder)),
            *("-R", "-X", "stream", "-c", "fast"),
        ],
        check=True,
        capture_output=True,
        user=user,
    )
    # pgserver keeps its socket in the data folder: the primary's lock file came along.
    for leftover in folder.glob(".s.PGSQL.*"):
        leftover.unlink()
    with (folder / "replica.log").open("ab") as log:
        postmaster = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                *("-D", str(folder)),
                *("-c", f"unix_socket_directories={folder}", "-c", "listen_addresses="),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,
            preexec_fn=die_with_parent,  # never outlives a killed test run
        )
    replica = StreamingReplica(folder=folder, primary_url=primary_url)
    try:
        wait_until(lambda: _accepts(replica, postmaster), timeout_s=30, interval_s=0.1)
        yield replica
    finally:
        postmaster.send_signal(signal.SIGINT)  # Postgres's fast shutdown
        try:
            postmaster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            postmaster.kill()
            postmaster.wait()


def _server_user() -> str | None:
    """Postgres refuses root: as root, the user pgserver runs the primary as."""
    return "pgserver" if os.geteuid() == 0 else None


def _accepts(replica: StreamingReplica, postmaster: subprocess.Popen[bytes]) -> bool:
    if postmaster.poll() is not None:
        log = (replica.folder / "replica.log").read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"the replica exited with {postmaster.returncode}:\n{log[-2000:]}")
    try:
        return replica.in_recovery()
    except psycopg.OperationalError:
        return False

"""Debian's PgBouncer in transaction mode, on a free loopback port, in front of a Postgres.

``make test`` installs the ``pgbouncer`` package. The pooler runs as the user Postgres runs
as when the tests run as root (PgBouncer refuses root, as Postgres does), with a pool of
``pool_size`` server connections per database: smaller than the clients, so a connection
that kept anything between transactions would show it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from inference import die_with_parent
from tests.support.net import free_port, wait_until

__all__ = ["Pgbouncer", "pgbouncer"]

_EXECUTABLE = "/usr/sbin/pgbouncer"  # Debian's; not on a non-root PATH


@dataclass(frozen=True)
class Pgbouncer:
    """A running PgBouncer: ``url_for`` turns a Postgres URL into the same database's URL
    through the pooler; ``show`` reads its admin console."""

    port: int
    user: str
    pool_size: int
    log: Path
    host: str = "127.0.0.1"

    def url_for(self, database_url: str) -> str:
        dbname = conninfo_to_dict(database_url)["dbname"]
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def show(self, what: str) -> list[dict[str, Any]]:
        """``SHOW <what>`` on the admin console (simple query protocol only, hence a
        ``ClientCursor``)."""
        with psycopg.connect(
            f"postgresql://{self.user}@{self.host}:{self.port}/pgbouncer",
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as conn:
            cursor = conn.execute(f"SHOW {what}".encode())
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@contextmanager
def pgbouncer(
    database_url: str, folder: Path, *, pool_size: int = 2, listen: str = "127.0.0.1"
) -> Iterator[Pgbouncer]:
    """PgBouncer (transaction mode) for every database of ``database_url``'s server, on
    ``listen`` (an address of this machine)."""
    executable = shutil.which("pgbouncer") or _EXECUTABLE
    if not Path(executable).exists():
        raise RuntimeError("PgBouncer is not installed: `make test` installs Debian's pgbouncer")
    server = conninfo_to_dict(database_url)
    user = str(server.get("user") or "postgres")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    run_as = _run_as()
    target = " ".join(
        f"{key}={value}"
        for key, value in (
            ("host", server.get("host") or "127.0.0.1"),
            ("port", server.get("port") or 5432),
            ("user", user),
            ("password", server.get("password")),
        )
        if value
    )
    (folder / "users.txt").write_text(f'"{user}" ""\n', encoding="utf-8")
    config = folder / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = {target}",
                "[pgbouncer]",
                f"listen_addr = {listen}",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {folder / 'users.txt'}",
                f"admin_users = {user}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "max_client_conn = 500",
                f"logfile = {folder / 'pgbouncer.log'}",
                f"pidfile = {folder / 'pgbouncer.pid'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    if run_as is not None:
        account = pwd.getpwnam(run_as)
        for path in (folder, *folder.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
    command = [executable, *(["-u", run_as] if run_as else []), str(config)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # never outlives a killed test run
    )
    running = Pgbouncer(
        port=port, user=user, pool_size=pool_size, log=folder / "pgbouncer.log", host=listen
    )
    try:
        wait_until(lambda: _listening(running, process), timeout_s=15, interval_s=0.05)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run_as() -> str | None:
    """PgBouncer refuses to run as root: then as the user the embedded Postgres runs as
    (``nobody`` where there is none: a Postgres given by TEST_DATABASE_URL)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("pgserver").pw_name
    except KeyError:
        return "nobody"


def _listening(running: Pgbouncer, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        log = running.log.read_text(encoding="utf-8") if running.log.exists() else ""
        raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{log[-2000:]}")
    try:
        running.show("VERSION")
    except psycopg.OperationalError:
        return False
    return True

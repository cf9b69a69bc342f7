"""An embedded Postgres with pgvector (pgserver), kept under the data directory."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["EmbeddedPostgres"]

_log = logging.getLogger(__name__)
DATABASE = "ragway"


class EmbeddedPostgres:
    """Starts (or attaches to) the server in ``folder`` and stops it when closed.

    pgserver listens on a unix socket only, so it never collides with a Postgres on 5432.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._server: Any = None

    def start(self, *, database: str = DATABASE) -> str:
        """Start the server, create ``database`` if missing, and return its URL."""
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._folder.chmod(0o700)  # initdb's mode; the data is the owner's only, whatever the umask
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); /tmp is fine here.
            warnings.simplefilter("ignore")
            from pgserver import postgres_server  # lazy: only processes that embed Postgres

            self._server = postgres_server.get_server(self._folder, cleanup_mode="stop")
        admin_url: str = self._server.get_uri()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"'.encode())
        url: str = self._server.get_uri(database)
        _log.info("embedded postgres ready", extra={"data": str(self._folder)})
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

"""Connections that stay correct behind a pooler in transaction mode (PgBouncer).

Such a pooler lends a server connection for one transaction at a time, to whichever client
starts one. Nothing a client leaves on the server after its transaction may matter, so with
``database.pooler: transaction``:

- no server-side prepared statements: psycopg prepares a query it has run
  ``prepare_threshold`` times, and the next transaction may run on a server connection that
  never saw it (PgBouncer 1.18, Debian bookworm's, does not carry them; 1.21+ can);
- no session ``SET``: ``statement_timeout`` is set with ``SET LOCAL`` after each ``BEGIN``,
  in the same round trip where psycopg pipelines, one more round trip where it does not
  (PgBouncer refuses the ``options`` startup parameter, and would not keep it per client);
- no ``LISTEN`` (the outbox relay polls) and no session advisory locks (migrations take
  transaction-level ones).

Leans on one psycopg detail (3.3): both ways a transaction starts (a statement outside one,
``Connection.transaction()``) send ``_get_tx_start_command()`` through ``_exec_command``.
tests/deploy/test_pgbouncer.py fails if that changes (the timeout would be missing).
"""

from __future__ import annotations

from typing import Any

from psycopg import pq
from psycopg.abc import PQGen, QueryNoTemplate

from configs import DatabaseSettings
from ingestion.db._connection import BoundedConnection

__all__ = ["TransactionSettingsConnection", "connect_kwargs", "connection_base"]


def connect_kwargs(settings: DatabaseSettings) -> dict[str, Any]:
    """psycopg ``connect()`` arguments for a long-lived connection under these settings."""
    return {"prepare_threshold": None} if settings.pooler == "transaction" else {}


def connection_base(settings: DatabaseSettings) -> type[BoundedConnection]:
    """The pool's connection class: one that sets ``statement_timeout`` in each transaction
    behind a pooler, a plain ``BoundedConnection`` otherwise (the pool sets it per session)."""
    if settings.pooler != "transaction":
        return BoundedConnection
    timeout_ms = max(1, round(settings.statement_timeout_s * 1000))
    return type(
        "TransactionSettingsConnection",
        (TransactionSettingsConnection,),
        {"begin_settings": f"SET LOCAL statement_timeout = {timeout_ms}".encode()},
    )


class TransactionSettingsConnection(BoundedConnection):
    """A ``BoundedConnection`` that sends ``begin_settings`` right after every ``BEGIN``."""

    begin_settings: bytes = b""

    def _exec_command(
        self, command: QueryNoTemplate, result_format: pq.Format = pq.Format.TEXT
    ) -> PQGen[pq.abc.PGresult | None]:
        if (
            self.begin_settings
            and isinstance(command, bytes)
            and command == self._get_tx_start_command()
        ):
            return self._begin_with_settings(command, result_format)
        return super()._exec_command(command, result_format)

    def _begin_with_settings(
        self, command: bytes, result_format: pq.Format
    ) -> PQGen[pq.abc.PGresult | None]:
        result = yield from super()._exec_command(command, result_format)
        # In a pipeline both are queued and travel together with the first statement.
        yield from super()._exec_command(self.begin_settings)
        return result

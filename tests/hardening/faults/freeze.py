"""Freeze a Postgres: every process of the server SIGSTOPped, as a network partition looks.

A stopped server still accepts connections (the kernel queues them) and its sockets stay
open, so a client sees neither an error nor a closed connection: only silence.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

__all__ = ["frozen"]


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])  # after "pid (comm) state"


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if _parent(int(entry.name)) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue  # ended while we looked
    return found


@contextmanager
def frozen(database_url: str) -> Iterator[None]:
    """Every process of the server stopped (postmaster first: it starts no new ones)."""
    with psycopg.connect(database_url) as conn:
        postmaster = _parent(conn.info.backend_pid)
    stopped = [postmaster]
    try:
        os.kill(postmaster, signal.SIGSTOP)
        for pid in _children(postmaster):
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, signal.SIGCONT)

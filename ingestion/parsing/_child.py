"""The parsing child's side: prepare once, then parse one document per request, each under a
memory limit, until the worker goes away.

Requests are ``(path, filename)``; each gets one reply: ``("ok", elements)``,
``("error", exception)`` or ``("memory", None)`` when the document needed more memory than
it may add. Before the first request the child replies ``("ready", None)``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from configs import LoggingSettings, configure_logging
from ingestion.errors import IngestionError
from ingestion.parsing._base import Parser

__all__ = ["serve"]

_NICENESS = 10
_PAGE = os.sysconf("SC_PAGE_SIZE")
_NEAR_LIMIT = 64 * 1024**2  # a failure this close to the limit was an allocation refused


def serve(
    conn: Connection,
    parser: Parser,
    parent: int,
    log_settings: LoggingSettings | None,
    memory_limit_bytes: int | None,
) -> None:
    """The child's main loop (the target of a spawned process)."""
    _start(parent, log_settings)
    parser.prepare()
    conn.send(("ready", None))
    while True:
        try:
            path, filename = conn.recv()
        except EOFError:  # the worker closed its end
            return
        conn.send(_parse(parser, path, filename, memory_limit_bytes))


def _start(parent: int, log_settings: LoggingSettings | None) -> None:
    """Parse at a lower CPU priority: embedding is the pipeline's bottleneck, so it gets the
    cores first and parsing fills what it leaves. A child whose worker died (SIGKILL) exits
    instead of waiting for work forever. A spawned child starts with logging unset: it logs
    (and turns the parsing libraries' warnings into log lines) as its worker does."""
    if log_settings is not None:
        configure_logging(log_settings, process="parser")
    os.nice(_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _parse(
    parser: Parser, path: Path, filename: str, memory_limit_bytes: int | None
) -> tuple[str, object]:
    base = None if memory_limit_bytes is None else _address_space()
    limit = None if base is None or memory_limit_bytes is None else base + memory_limit_bytes
    peak_before = _peak_address_space()
    try:
        with _address_space_limit(limit):
            elements = parser.parse(path, filename=filename)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the worker
        if limit is not None and _ran_out(exc, peak_before, limit):
            return ("memory", None)
        return ("error", _picklable(exc))
    return ("ok", elements)


@contextlib.contextmanager
def _address_space_limit(limit: int | None) -> Iterator[None]:
    """RLIMIT_AS lowered to ``limit`` inside, restored after (the hard limit is left as it
    is, so an unprivileged process may raise the soft one back)."""
    if limit is None:
        yield
        return
    saved = resource.getrlimit(resource.RLIMIT_AS)
    hard = saved[1]
    resource.setrlimit(
        resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard)
    )
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, saved)


def _ran_out(exc: BaseException, peak_before: int | None, limit: int) -> bool:
    """Whether a failure came from the memory limit: a MemoryError anywhere in its chain
    (parsers wrap errors), or an address space that grew to the limit while parsing (C
    libraries report a refused allocation in their own words, lxml as a syntax error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    peak = _peak_address_space()
    if peak is None or peak_before is None or peak <= peak_before:
        return False
    return peak >= limit - _NEAR_LIMIT


def _picklable(exc: Exception) -> Exception:
    import pickle

    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any pickling failure: send the text instead
        return IngestionError(f"{type(exc).__name__}: {exc}")
    return exc


def _address_space() -> int | None:
    """The process's address space now; None where /proc cannot tell (no limit then)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * _PAGE
    except OSError:
        return None


def _peak_address_space() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None

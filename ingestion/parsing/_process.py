"""Parsing in child processes, so pure-Python parsing does not starve embedding of the GIL.

A worker overlaps parsing one file with embedding another in its threads. Parsing is mostly
pure Python (pdfminer's layout analysis inside unstructured's ``fast`` strategy) and holds
the GIL; torch releases it inside each operator but needs it between them, so a forward pass
sharing its process with a parsing thread waits on the GIL at every layer. In a child
process the two only share the CPUs.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from configs import LoggingSettings, configure_logging
from ingestion.errors import IngestionError
from ingestion.parsing._base import Element, Parser

__all__ = ["ProcessParser"]

_NICENESS = 10


class ProcessParser:
    """Runs ``parser`` (which must pickle) in ``processes`` spawned children, started on the
    first parse and kept warm. A child that dies (killed, out of memory) costs its file a
    retry (``IngestionError``, transient), not the worker."""

    def __init__(
        self, parser: Parser, *, processes: int, log_settings: LoggingSettings | None = None
    ) -> None:
        self._parser = parser
        self._processes = processes
        self._log_settings = log_settings
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def parse(self, path: Path, *, filename: str) -> list[Element]:
        pool = self._executor()
        try:
            return pool.submit(_parse, self._parser, path, filename).result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise IngestionError(f"the parsing process died while parsing {filename!r}") from exc

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),  # no fork of torch's threads
                    initializer=_start_child,
                    initargs=(os.getpid(), self._log_settings),
                )
            return self._pool


def _parse(parser: Parser, path: Path, filename: str) -> list[Element]:
    return parser.parse(path, filename=filename)


def _start_child(parent: int, log_settings: LoggingSettings | None) -> None:
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

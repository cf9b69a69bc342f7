"""Parsing in child processes, each document under a time and a memory limit.

A worker overlaps parsing one file with embedding another in its threads. Parsing is mostly
pure Python (pdfminer's layout analysis inside unstructured's ``fast`` strategy) and holds
the GIL; torch releases it inside each operator but needs it between them, so a forward pass
sharing its process with a parsing thread waits on the GIL at every layer. In a child
process the two only share the CPUs.

A child is also what can be stopped: a document that parses too long, or whose file is
deleted meanwhile, has its child killed (and replaced on the next parse); one that needs
too much memory meets the child's address-space limit. Several children let the other
files go on while one is slow.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from configs import LoggingSettings
from ingestion.errors import DocumentRejectedError, IngestionError, WorkCancelledError
from ingestion.parsing._base import Cancelled, Element, Parser
from ingestion.parsing._child import serve

__all__ = ["ParseLimits", "ProcessParser"]

_log = logging.getLogger(__name__)

_CANCEL_CHECK_S = 1.0  # how often a waiting parse asks whether its file is still wanted
_START_TIMEOUT_S = 300.0  # a child's imports (unstructured) take seconds on a cold start


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Per document: wall time in the child, and address space it may add (None: no limit)."""

    time_limit_s: float | None = None
    memory_limit_bytes: int | None = None


class ProcessParser:
    """Runs ``parser`` (which must pickle) in up to ``processes`` spawned children, started
    when first needed and kept warm.

    A document over a limit fails for good (``DocumentRejectedError``, ``invalid_file``) and
    its child is replaced; a file no longer wanted (``cancelled``) stops its child at once
    (``WorkCancelledError``). A child that dies on its own (killed, out of memory) costs its
    file a retry (``IngestionError``, transient), not the worker.
    """

    def __init__(
        self,
        parser: Parser,
        *,
        processes: int,
        limits: ParseLimits | None = None,
        log_settings: LoggingSettings | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError("a ProcessParser needs at least one process")
        self._parser = parser
        self._processes = processes
        self._limits = limits or ParseLimits()
        self._log_settings = log_settings
        self._context = multiprocessing.get_context("spawn")  # no fork of torch's threads
        self._idle: queue.Queue[_Child | None] = queue.Queue()  # FIFO: a starting child goes last
        for _ in range(processes):
            self._idle.put(None)  # a slot whose child starts when first used
        self._lock = threading.Lock()
        self._live: set[_Child] = set()
        self._closed = False

    def prepare(self) -> None:
        """Start every child (side by side) and wait until each has imported its libraries."""
        slots = [self._idle.get() for _ in range(self._processes)]
        children: list[_Child | None] = []
        try:
            for slot in slots:
                children.append(slot if slot is not None and slot.alive() else self._spawn())
            for child in children:
                if child is not None:
                    child.wait_ready(None)
        except BaseException:
            for child in children:
                if child is not None:
                    self._discard(child)
            children = []
            raise
        finally:
            for child in children + [None] * (len(slots) - len(children)):
                self._idle.put(child)

    def parse(
        self, path: Path, *, filename: str, cancelled: Cancelled | None = None
    ) -> list[Element]:
        child = self._take(cancelled)
        try:
            elements = child.parse(path, filename, self._limits, cancelled)
        except BaseException:
            if child.answered:
                # The parser rejected the document in its own words (corrupt, unsupported):
                # the child is idle and well, and keeps serving.
                self._idle.put(child)
                raise
            # Over a limit, cancelled, died, or this thread was interrupted (Dramatiq's time
            # limit, shutdown): the child may still be busy with the document; replace it
            # now, so that the next file finds its successor ready.
            self._discard(child)
            self._idle.put(self._replacement())
            raise
        self._idle.put(child)
        return elements

    def close(self) -> None:
        """Stop every child (those busy too); the parser cannot be used afterwards."""
        with self._lock:
            self._closed = True
            children, self._live = list(self._live), set()
        for child in children:
            child.stop()

    def _take(self, cancelled: Cancelled | None) -> _Child:
        """A ready child: an idle one, or a new one in a free slot. Waits while all are busy,
        asking ``cancelled`` now and then."""
        while True:
            try:
                child = self._idle.get(timeout=_CANCEL_CHECK_S)
            except queue.Empty:
                if cancelled is not None and cancelled():
                    raise WorkCancelledError("the file is no longer wanted") from None
                continue
            try:
                if child is None or not child.alive():
                    if child is not None:
                        self._discard(child)
                    child = None
                    child = self._spawn()
                child.wait_ready(cancelled)
            except BaseException:
                if child is not None:
                    self._discard(child)
                self._idle.put(None)
                raise
            return child

    def _replacement(self) -> _Child | None:
        """A new child starting (not waited for); None if that fails now."""
        try:
            return self._spawn()
        except Exception:  # noqa: BLE001 - the slot starts a child when next used instead
            _log.warning("could not start a parsing process", exc_info=True)
            return None

    def _spawn(self) -> _Child:
        with self._lock:
            if self._closed:
                raise IngestionError("the parsing processes are closed")
            ours, theirs = self._context.Pipe()
            process = self._context.Process(
                target=serve,
                args=(
                    theirs,
                    self._parser,
                    os.getpid(),
                    self._log_settings,
                    self._limits.memory_limit_bytes,
                ),
                name="ragway-parser",
                daemon=True,  # ended with the worker, even one that never calls close()
            )
            process.start()
            theirs.close()
            child = _Child(process, ours)
            self._live.add(child)
        return child

    def _discard(self, child: _Child) -> None:
        with self._lock:
            self._live.discard(child)
        child.stop()


class _Child:
    """One parsing process and the worker's end of its pipe."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self._process = process
        self._conn = conn
        self._ready = False
        self.answered = False
        """Whether the last parse ended with the parser's own reply (a document or an error),
        as opposed to a limit, a cancellation or a death that leave the child unusable."""

    def alive(self) -> bool:
        return self._process.is_alive()

    def wait_ready(self, cancelled: Cancelled | None) -> None:
        """Return once the child has prepared its parser (at once if it had before)."""
        if self._ready:
            return
        try:
            kind, _ = self._reply(time.monotonic() + _START_TIMEOUT_S, cancelled, "starting")
        except TimeoutError:
            raise IngestionError(
                f"the parsing process did not start within {_START_TIMEOUT_S:g} s"
            ) from None
        if kind != "ready":
            raise IngestionError(f"the parsing process answered {kind!r} instead of 'ready'")
        self._ready = True

    def parse(
        self, path: Path, filename: str, limits: ParseLimits, cancelled: Cancelled | None
    ) -> list[Element]:
        self.answered = False
        self._conn.send((path, filename))
        limit = limits.time_limit_s
        deadline = None if limit is None else time.monotonic() + limit
        try:
            kind, value = self._reply(deadline, cancelled, f"parsing {filename!r}")
        except TimeoutError:
            raise DocumentRejectedError(
                "invalid_file",
                f"{filename!r}: parsing took longer than {limit:g} s "
                "(ingestion.parsing.time_limit_s)",
            ) from None
        self.answered = kind in ("ok", "error")
        if kind == "ok" and isinstance(value, list):
            return value
        if kind == "memory":
            raise DocumentRejectedError(
                "invalid_file",
                f"{filename!r}: parsing needed more than "
                f"{_size(limits.memory_limit_bytes)} of memory "
                "(ingestion.parsing.memory_limit_bytes)",
            )
        if isinstance(value, BaseException):
            raise value
        raise IngestionError(f"the parsing process answered {kind!r}")

    def _reply(
        self, deadline: float | None, cancelled: Cancelled | None, doing: str
    ) -> tuple[str, object]:
        """The child's next reply; TimeoutError past ``deadline``, WorkCancelledError when
        ``cancelled`` says so, IngestionError if the child dies."""
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise TimeoutError
            wait_s = _CANCEL_CHECK_S if deadline is None else min(_CANCEL_CHECK_S, deadline - now)
            ready = wait([self._conn, self._process.sentinel], timeout=wait_s)
            if self._conn in ready:
                try:
                    kind, value = self._conn.recv()
                except EOFError:
                    pass  # died as it answered: reported below
                else:
                    return str(kind), value
            if not self.alive() or ready:
                self._process.join(timeout=5)
                raise IngestionError(
                    f"the parsing process died (exit code {self._process.exitcode}) while {doing}"
                )
            if cancelled is not None and cancelled():
                raise WorkCancelledError(f"stopped {doing}: the file is no longer wanted")

    def stop(self) -> None:
        """Kill the process (at once: it may be deep in a parser) and reap it."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=10)
        self._conn.close()


def _size(n: int | None) -> str:
    if n is None:
        return "the limit"
    if n % 1024**3 == 0:
        return f"{n // 1024**3} GiB"
    return f"{n / 1024**2:g} MiB"

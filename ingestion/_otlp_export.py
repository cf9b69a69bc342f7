"""Posting OTLP bytes, and the child process that encodes and posts a gateway's spans.

The event loop's thread is what bounds a gateway process's throughput. Encoding spans there
cost it ~30 us of a traced chat request's time, and a thread of the same process would take
the GIL from it. So a process that runs its spans through ``SpanQueue`` with
``tracing.export_process`` hands the ended request spans, as plain tuples, to a child process
(``python -m ingestion._otlp_export``) through a pipe: ``marshal`` writes them in C (~1 us a
request), the child encodes the OTLP protobuf and posts it. The loop never blocks on the
pipe: what does not fit waits in a bounded buffer written when the pipe drains, and past
that bound spans are dropped (counted in the log), as the export queue drops them.

A child that dies is started again (at most once per ``_RESTART_S``); the spans written to
the dead one are lost, as they would be with a collector that is down. When its parent goes,
the child reads the end of its pipe, posts what it holds and exits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import http.client
import logging
import marshal
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ExportChild", "Poster"]

_log = logging.getLogger(__name__)

_HEADER = struct.Struct("<I")
_FLUSH = _HEADER.pack(0)  # a frame of no spans: post what is held now
_PIPE_BYTES = 1 << 20  # the pipe's buffer (Linux: F_SETPIPE_SZ), ~1,000 requests' spans
_MAX_BUFFERED = 16 << 20  # bytes waiting for the pipe before frames are dropped
_RESTART_S = 5.0
_LAST_POST_S = 2.0  # each post's bound once the parent's pipe has ended


class Poster:
    """POSTs OTLP bodies to the collector on one kept-alive connection; a failure is
    retried once on a new connection, then logged and dropped (spans are not worth a
    stalled process)."""

    def __init__(self, url: str, *, timeout_s: float, pause_s: float) -> None:
        self._url = urlsplit(url)
        self._timeout_s = timeout_s
        self._pause_s = pause_s
        self._conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, count: int) -> None:
        for attempt in (0, 1):
            try:
                conn = self._connection()
                conn.request(
                    "POST",
                    self._url.path or "/v1/traces",
                    body=body,
                    headers={"Content-Type": "application/x-protobuf"},
                )
                answer = conn.getresponse()
                answer.read()
                if answer.status >= 300:
                    _log.warning(
                        "the trace collector refused spans",
                        extra={"status": answer.status, "spans": count},
                    )
                return
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt:
                    _log.warning(
                        "could not export spans to the trace collector",
                        extra={"error": repr(exc), "spans": count},
                    )
                    time.sleep(self._pause_s)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def hurry(self, timeout_s: float) -> None:
        """Wait at most ``timeout_s`` per call from now on (a process on its way out)."""
        self.close()
        self._timeout_s = min(self._timeout_s, timeout_s)
        self._pause_s = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            host = self._url.hostname or "localhost"
            kind = (
                http.client.HTTPSConnection
                if self._url.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = kind(host, self._url.port, timeout=self._timeout_s)
        return self._conn


class ExportChild:
    """The parent's end: span records (``_otlp.SpanRecord``) framed into the child's pipe."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**config, "log_format": _log_format()}
        self._lock = threading.Lock()  # (a worker's threads end spans too)
        self._buffer = bytearray()
        self._process: subprocess.Popen[bytes] | None = None
        self._fd = -1
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        self._started_at = 0.0
        self._dropped = 0
        self._start()

    def send(self, records: list[Any]) -> None:
        """Frame ``records`` for the child; never blocks (full: dropped and counted)."""
        try:
            payload = marshal.dumps(records)
        except ValueError:  # an attribute value marshal cannot write: as text, as OTLP would
            payload = marshal.dumps([_plain(record) for record in records])
        with self._lock:
            if len(self._buffer) > _MAX_BUFFERED:
                self._dropped += len(records)
                return
            self._buffer += _HEADER.pack(len(payload))
            self._buffer += payload
            self._write()

    def flush(self) -> None:
        """Ask the child to post what it holds now."""
        with self._lock:
            self._buffer += _FLUSH
            self._write()

    def close(self, timeout_s: float) -> None:
        """Hand over what is buffered, end the pipe and let the child post the rest."""
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return
            self._stop_watching()
            try:
                os.set_blocking(self._fd, True)
                while self._buffer:
                    del self._buffer[: os.write(self._fd, self._buffer)]
            except OSError:
                pass
            with contextlib.suppress(OSError):
                os.close(self._fd)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._dropped:
            _log.warning(
                "trace spans dropped: the export pipe was full", extra={"spans": self._dropped}
            )

    # -- the pipe (callers hold the lock) ---------------------------------------------
    def _start(self) -> None:
        self._started_at = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "ingestion._otlp_export"],
            stdin=subprocess.PIPE,
            close_fds=True,
        )
        assert process.stdin is not None
        fd = process.stdin.fileno()
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        config = marshal.dumps(self._config)
        os.write(fd, _HEADER.pack(len(config)) + config)  # (an empty pipe: all of it fits)
        os.set_blocking(fd, False)
        self._fd = os.dup(fd)
        process.stdin.close()
        self._process = process

    def _write(self) -> None:
        if self._process is None:
            self._buffer.clear()
            return
        try:
            while self._buffer:
                del self._buffer[: os.write(self._fd, self._buffer)]
        except BlockingIOError:
            self._watch()  # the rest goes when the pipe drains
        except OSError:  # the child is gone: its spans with it
            self._restart()
        else:
            self._stop_watching()

    def _drained(self) -> None:
        with self._lock:
            self._write()

    def _watch(self) -> None:
        if self._writer_loop is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop in this thread: the next send tries again
        loop.add_writer(self._fd, self._drained)
        self._writer_loop = loop

    def _stop_watching(self) -> None:
        if self._writer_loop is not None:
            with contextlib.suppress(Exception):  # (a closed loop: nothing to remove)
                self._writer_loop.remove_writer(self._fd)
            self._writer_loop = None

    def _restart(self) -> None:
        self._stop_watching()
        self._buffer.clear()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
        if time.monotonic() - self._started_at < _RESTART_S:
            _log.warning("the span export process stopped; spans are dropped for a while")
            threading.Timer(_RESTART_S, self._restart_later).start()
            return
        _log.warning("the span export process stopped; starting it again")
        self._start()

    def _restart_later(self) -> None:
        with self._lock:
            if self._process is None:
                self._start()


def _log_format() -> str:
    """The parent's log format, for the child's lines ("json" unless it writes text)."""
    from configs import JsonFormatter

    handlers = logging.getLogger().handlers
    if handlers and not any(isinstance(h.formatter, JsonFormatter) for h in handlers):
        return "text"
    return "json"


def _plain(record: Any) -> Any:
    """A record whose every value marshal writes (others as their text)."""
    if isinstance(record, str | int | float | bool | bytes) or record is None:
        return record
    if isinstance(record, list | tuple):
        return type(record)(_plain(item) for item in record)
    if isinstance(record, dict):
        return {str(key): _plain(value) for key, value in record.items()}
    return str(record)


# -- the child -------------------------------------------------------------------------
def _frames(fd: int, delay_s: float) -> Any:
    """Frames as they come (None: ``delay_s`` passed without one); ends with the pipe."""
    pending = bytearray()
    while True:
        ready, _, _ = select.select([fd], [], [], delay_s)
        if not ready:
            yield None
            continue
        data = os.read(fd, 1 << 20)
        if not data:
            return
        pending += data
        while len(pending) >= 4:
            (size,) = _HEADER.unpack_from(pending)
            if len(pending) < 4 + size:
                break
            frame = bytes(pending[4 : 4 + size])
            del pending[: 4 + size]
            yield frame


def main() -> None:
    """Read span records from stdin, encode and post them (until stdin ends)."""
    from configs import LoggingSettings, configure_logging
    from ingestion._otlp import encode, encode_record

    # A Ctrl-C or a TERM to the process group is for the parent: this process ends when
    # the parent's end of the pipe does, with what it holds posted.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd = sys.stdin.fileno()
    frames = _frames(fd, 0.5)
    first = next(frames)
    while first is None:
        first = next(frames)
    config = marshal.loads(first)  # noqa: S302 - the parent's pipe, nothing else's
    configure_logging(LoggingSettings(format=config["log_format"]), process="span-export")
    resource, scope = config["resource"], tuple(config["scope"])
    delay_s, batch, max_queue = config["delay_s"], config["batch"], config["max_queue"]
    poster = Poster(config["url"], timeout_s=config["timeout_s"], pause_s=min(delay_s, 1.0))
    spans: collections.deque[bytes] = collections.deque()
    dropped = 0
    posted_at = time.monotonic()

    def post_all() -> None:
        nonlocal posted_at
        posted_at = time.monotonic()
        while spans:
            taken = [spans.popleft() for _ in range(min(batch, len(spans)))]
            poster.post(encode(resource, scope, taken), len(taken))

    for frame in frames:
        if frame:
            for record in marshal.loads(frame):  # noqa: S302 - (as above)
                if len(spans) >= max_queue:
                    dropped += 1
                    continue
                spans.extend(encode_record(record))
        if frame == b"" or len(spans) >= batch or time.monotonic() - posted_at >= delay_s:
            post_all()
            if dropped:
                _log.warning(
                    "trace spans dropped: the export queue was full", extra={"spans": dropped}
                )
                dropped = 0
    poster.hurry(_LAST_POST_S)  # the parent has gone: no lingering for a silent collector
    post_all()
    poster.close()


if __name__ == "__main__":
    main()

"""Process logging: one JSON object per line (or plain text for a terminal)."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from configs._models import LoggingSettings

__all__ = [
    "JsonFormatter",
    "configure_logging",
    "join_traces",
    "log_info_fields",
    "redact_secrets",
]

# Secret keys (ours are sk-rgw-..., OpenAI's sk-..., Anthropic's sk-ant-...) wherever a client
# put one (a model name, a request id, a body quoted in an error): masked in every line.
_SECRET = re.compile(r"sk-[A-Za-z0-9_-]{12,}")


def redact_secrets(line: str) -> str:
    """``line`` with anything shaped like a secret key replaced by ``sk-***``."""
    return _SECRET.sub("sk-***", line) if "sk-" in line else line


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_secrets(super().format(record))


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


# With tracing on: the current span's (trace id, span id), hex, or None (``join_traces``).
_trace_ids: Callable[[], tuple[str, str] | None] | None = None


def join_traces(ids: Callable[[], tuple[str, str] | None] | None) -> None:
    """Give every JSON line ``trace_id`` and ``span_id`` from ``ids()`` when it has them
    (tracing's set-up calls this; None stops it)."""
    global _trace_ids
    _trace_ids = ids


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, process, message and extras.

    On the gateway's hot path (one access line per request), so it encodes with msgspec
    and renders the timestamp's seconds once per second.
    """

    def __init__(self, process: str) -> None:
        super().__init__()
        self._process = process
        self._encode = msgspec.json.Encoder(enc_hook=str).encode
        self._second = -1
        self._second_text = ""

    def _timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry = self._head(record.created, record.levelname.lower(), record.name)
        entry["msg"] = record.getMessage()
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if _trace_ids is not None and "trace_id" not in entry:
            ids = _trace_ids()
            if ids is not None:
                entry["trace_id"], entry["span_id"] = ids
        return redact_secrets(self._encode(entry).decode())

    def format_fields(self, created: float, name: str, msg: str, fields: dict[str, Any]) -> str:
        """The line ``format`` makes of an INFO record of ``name`` with ``fields`` as extras."""
        entry = self._head(created, "info", name)
        entry["msg"] = msg
        entry.update(fields)
        return redact_secrets(self._encode(entry).decode())

    def _head(self, created: float, level: str, name: str) -> dict[str, Any]:
        return {
            "ts": self._timestamp(created),
            "level": level,
            "logger": name,
            "process": self._process,
            "pid": os.getpid(),  # records no longer carry it (configure_logging)
        }


# The handler configure_logging installed, when it formats JSON: log_info_fields writes to it.
_json_handler: logging.StreamHandler[Any] | None = None


def log_info_fields(logger: logging.Logger, msg: str, fields: dict[str, Any]) -> None:
    """``logger.info(msg, extra=fields)``, without building a ``LogRecord`` when it can.

    For the gateway's access log (a line per request): when ``logger`` would hand the record
    to nothing but the JSON handler ``configure_logging`` installed, the line is formatted
    from ``fields`` and written under the handler's lock -- the same line, at about a third
    of the cost. Otherwise (other handlers, filters, plain-text format) it is a plain
    ``logger.info``. (``fields`` may name ``request_id`` only where no log context sets it.)
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _json_handler
    if handler is None or not _only_to(logger, handler):
        logger.info(msg, extra=fields)
        return
    formatter = handler.formatter
    assert isinstance(formatter, JsonFormatter)
    line = formatter.format_fields(time.time(), logger.name, msg, fields)
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    finally:
        handler.release()


def configure_logging(settings: LoggingSettings, *, process: str) -> None:
    """Route every logger (ours, uvicorn's, Dramatiq's) through one handler on stderr."""
    # Nothing we log reads the caller's file/line, thread or process names: skip collecting
    # them for every record (the logging HOWTO's "Optimization" section). The gateway writes
    # one access line per request, so this is on its hot path.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _json_handler
    handler = logging.StreamHandler(sys.stderr)
    _json_handler = None
    if settings.format == "json":
        handler.setFormatter(JsonFormatter(process))
        _json_handler = handler
    else:
        handler.setFormatter(
            _RedactingFormatter(f"%(asctime)s %(levelname)-7s {process} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    # A library's warnings.warn (a deprecation, a misuse it corrected) becomes a WARNING record
    # of the "py.warnings" logger, so it is one JSON line like the rest, never raw text on stderr.
    logging.captureWarnings(True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # pgserver narrates every step at INFO, httpx every request it makes (the supervisor's
    # readiness polls, the CLI's calls), pika (RabbitMQ) every socket it opens and closes;
    # their warnings still get through.
    for name in ("pgserver", "httpx", "pika"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # One access line per request comes from the gateway itself.
    logging.getLogger("uvicorn.access").disabled = True


def _only_to(logger: logging.Logger, handler: logging.Handler) -> bool:
    """A record of ``logger`` would reach ``handler`` (the root's only one) and nothing else,
    unfiltered. (A record meets its own logger's filters and every handler up the chain.)"""
    if logger.filters or handler.filters or handler.level > logging.INFO:
        return False
    node: logging.Logger | None = logger
    while node is not None and node is not logging.root:
        if node.handlers or not node.propagate:
            return False
        node = node.parent
    return node is logging.root and logging.root.handlers == [handler]

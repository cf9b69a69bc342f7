"""Process logging: one JSON object per line (or plain text for a terminal)."""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

from configs._models import LoggingSettings

__all__ = ["JsonFormatter", "configure_logging", "redact_secrets"]

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
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": self._process,
            "pid": os.getpid(),  # records no longer carry it (configure_logging)
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact_secrets(self._encode(entry).decode())


def configure_logging(settings: LoggingSettings, *, process: str) -> None:
    """Route every logger (ours, uvicorn's, Dramatiq's) through one handler on stderr."""
    # Nothing we log reads the caller's file/line, thread or process names: skip collecting
    # them for every record (the logging HOWTO's "Optimization" section). The gateway writes
    # one access line per request, so this is on its hot path.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter(process))
    else:
        handler.setFormatter(
            _RedactingFormatter(f"%(asctime)s %(levelname)-7s {process} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # pgserver narrates every step at INFO; its warnings still get through.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # One access line per request comes from the gateway itself.
    logging.getLogger("uvicorn.access").disabled = True

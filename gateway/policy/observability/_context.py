"""The request id of the request being served, in a contextvar, stamped on every log record."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from gateway.platform.ids import unique_hex

__all__ = ["REQUEST_ID", "accept_request_id", "install_log_context", "new_request_id"]

REQUEST_ID: ContextVar[str | None] = ContextVar("ragway_request_id", default=None)

_VALID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def new_request_id() -> str:
    return "req_" + unique_hex()


def accept_request_id(presented: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a sane token, else a new one.

    A value shaped like a secret key (``sk-...``: ours, OpenAI's, Anthropic's) is replaced
    too: the request id is logged on every line, and keys must never reach the log.
    """
    if presented and _VALID.match(presented) and presented[:3].lower() != "sk-":
        return presented
    return new_request_id()


def install_log_context() -> None:
    """Make every log record carry ``request_id`` while a request is being served.

    Done with the record factory rather than a handler filter so that it holds whatever
    handlers logging is configured with; installing twice is harmless.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "_ragway_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        request_id = REQUEST_ID.get()
        if request_id is not None:
            record.request_id = request_id
        return record

    factory._ragway_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

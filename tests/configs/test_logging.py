"""The access log's short way (``log_info_fields``) writes exactly the line a record would,
and steps aside whenever logging is set up otherwise."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from configs import LoggingSettings, configure_logging, log_info_fields

FIELDS = {"request_id": "req_1", "route": "chat.completions", "status": 200, "key": None}


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """configure_logging writes to this; logging is put back as it was afterwards.

    (Set in the test's own phase: pytest swaps ``sys.stderr`` between setup and call.)"""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], root.level = saved
    logging.getLogger("uvicorn.access").disabled = False


def _configure(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, fmt: str) -> None:
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(LoggingSettings(format=fmt), process="gateway")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        line.pop("ts")
    return lines


def test_the_short_way_writes_the_line_a_record_would(
    stderr: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, stderr, "json")
    logger = logging.getLogger("ragway.test-access")
    log_info_fields(logger, "request", FIELDS)
    logger.info("request", extra=FIELDS)  # the long way (the log context adds request_id)
    short, long = stderr.getvalue().splitlines()
    assert json.loads(short)["ts"][:16] == json.loads(long)["ts"][:16]
    assert [list(line) for line in _lines(stderr)] == [list(json.loads(long))[1:]] * 2
    assert _lines(stderr)[0] == _lines(stderr)[1]


def test_it_steps_aside_for_other_handlers_and_formats(
    stderr: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, stderr, "json")
    logger = logging.getLogger("ragway.test-access")
    extra = io.StringIO()
    handler = logging.StreamHandler(extra)
    logger.addHandler(handler)
    try:
        log_info_fields(logger, "request", FIELDS)
    finally:
        logger.removeHandler(handler)
    assert extra.getvalue() == "request\n"  # the record went through logging
    assert _lines(stderr)[0]["route"] == "chat.completions"
    logger.setLevel(logging.WARNING)
    try:
        log_info_fields(logger, "request", FIELDS)
    finally:
        logger.setLevel(logging.NOTSET)
    assert len(_lines(stderr)) == 1  # below the level: nothing

    _configure(monkeypatch, stderr, "text")
    log_info_fields(logger, "plain", FIELDS)
    assert stderr.getvalue().splitlines()[-1].endswith("ragway.test-access: plain")


def test_a_library_warning_is_one_json_line_on_stderr() -> None:
    """``warnings.warn`` from a library, in a real process: a WARNING line of ``py.warnings``
    in the log's JSON, never the interpreter's two plain-text lines."""
    script = (
        "import warnings\n"
        "from configs import LoggingSettings, configure_logging\n"
        "configure_logging(LoggingSettings(format='json'), process='gateway')\n"
        "warnings.warn('a library corrected a misuse', UserWarning, stacklevel=1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert len(lines) == 1, result.stderr
    assert lines[0]["logger"] == "py.warnings"
    assert lines[0]["level"] == "warning"
    assert "UserWarning: a library corrected a misuse" in str(lines[0]["msg"])

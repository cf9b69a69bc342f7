"""Parsing children under limits: a document over its time or memory limit fails alone and
its process is replaced; a file no longer wanted stops its parse; one slow document leaves
the other children free.

Real spawned children running parsers that misbehave on demand (by file name), so each
case takes seconds; tests/ingestion/test_hostile_uploads.py runs real hostile DOCX files
through a whole stack.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.errors import DocumentRejectedError, WorkCancelledError
from ingestion.parsing import Cancelled, Element, ParseLimits, ProcessParser


class Misbehaving:
    """``slow*`` never finishes, ``hog*`` allocates until refused, ``bad*`` is rejected;
    others parse at once."""

    def prepare(self) -> None:
        pass

    def parse(
        self, path: Path, *, filename: str, cancelled: Cancelled | None = None
    ) -> list[Element]:
        if filename.startswith("slow"):
            while True:
                time.sleep(0.05)
        if filename.startswith("bad"):
            raise DocumentRejectedError("invalid_file", f"{filename!r} is corrupt")
        if filename.startswith("hog"):
            hoard = []
            while True:
                hoard.append(bytearray(16 * 1024**2))  # touched: resident, not only reserved
        return [Element(text=f"{filename} parsed by {os.getpid()}", kind="NarrativeText")]


@pytest.fixture
def parser() -> Iterator[ProcessParser]:
    limits = ParseLimits(time_limit_s=1.5, memory_limit_bytes=256 * 1024**2)
    parser = ProcessParser(Misbehaving(), processes=2, limits=limits)
    parser.prepare()
    yield parser
    parser.close()


def pid_of(parser: ProcessParser, name: str) -> str:
    [element] = parser.parse(Path("/dev/null"), filename=name)
    return element.text.rsplit(" ", 1)[1]


def test_a_rejected_document_leaves_its_process_serving() -> None:
    parser = ProcessParser(Misbehaving(), processes=1, limits=ParseLimits(time_limit_s=5))
    try:
        before = pid_of(parser, "a.txt")
        with pytest.raises(DocumentRejectedError, match=r"'bad\.xlsx' is corrupt"):
            parser.parse(Path("/dev/null"), filename="bad.xlsx")
        assert pid_of(parser, "b.txt") == before  # no new process (seconds of imports)
    finally:
        parser.close()


def test_a_document_over_the_time_limit_fails_and_its_process_is_replaced(
    parser: ProcessParser,
) -> None:
    started = time.monotonic()
    with pytest.raises(DocumentRejectedError) as caught:
        parser.parse(Path("/dev/null"), filename="slow.docx")
    elapsed = time.monotonic() - started
    assert caught.value.code == "invalid_file"
    assert caught.value.message == (
        "'slow.docx': parsing took longer than 1.5 s (ingestion.parsing.time_limit_s)"
    )
    assert 1.5 <= elapsed < 2.5, f"the runaway parse was stopped after {elapsed:.1f} s"
    assert pid_of(parser, "a.txt")  # a fresh child in the freed slot


def test_a_document_over_the_memory_limit_fails_and_its_process_is_replaced() -> None:
    # A time limit far above the time the hog takes to reach 256 MiB: on a loaded machine,
    # touching those pages once took longer than the 1.5 s the other tests use.
    limits = ParseLimits(time_limit_s=30, memory_limit_bytes=256 * 1024**2)
    parser = ProcessParser(Misbehaving(), processes=1, limits=limits)
    parser.prepare()
    try:
        with pytest.raises(DocumentRejectedError) as caught:
            parser.parse(Path("/dev/null"), filename="hog.docx")
        assert caught.value.code == "invalid_file"
        assert caught.value.message == (
            "'hog.docx': parsing needed more than 256 MiB of memory "
            "(ingestion.parsing.memory_limit_bytes)"
        )
        assert pid_of(parser, "a.txt")
    finally:
        parser.close()


def test_a_file_no_longer_wanted_stops_its_parse_within_a_second(
    parser: ProcessParser,
) -> None:
    parser_pids = {pid_of(parser, "a.txt"), pid_of(parser, "b.txt")}
    wanted_until = time.monotonic() + 0.2
    started = time.monotonic()
    with pytest.raises(WorkCancelledError):
        parser.parse(
            Path("/dev/null"),
            filename="slow.docx",
            cancelled=lambda: time.monotonic() > wanted_until,
        )
    assert time.monotonic() - started < 1.4  # before the 1.5 s limit would have
    killed = parser_pids - {pid_of(parser, "a.txt"), pid_of(parser, "b.txt")}
    assert len(killed) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(int(killed.pop()), 0)


def test_a_slow_document_leaves_the_other_process_free(parser: ProcessParser) -> None:
    slow_done = threading.Event()

    def parse_slow() -> None:
        try:
            parser.parse(Path("/dev/null"), filename="slow.docx")
        except DocumentRejectedError:
            slow_done.set()

    threading.Thread(target=parse_slow, daemon=True).start()
    time.sleep(0.2)
    started = time.monotonic()
    for n in range(20):
        assert pid_of(parser, f"{n}.txt")
    assert time.monotonic() - started < 1.0
    assert not slow_done.is_set()
    assert slow_done.wait(timeout=5)

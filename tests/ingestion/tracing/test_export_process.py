"""``ingestion._otlp_export``: span records handed to the export process arrive at a real
OTLP receiver as the spans the process itself would have encoded; the hand-over never
blocks; a killed export process is replaced; the spans it holds go out when its parent
closes the pipe."""

from __future__ import annotations

import os
import signal
import socket
import time
from typing import Any

from ingestion._otlp import SpanRecord, encode_record
from ingestion._otlp_export import ExportChild
from tests.support.net import free_port
from tests.support.otlp_receiver import OtlpReceiver


def _config(receiver: OtlpReceiver, *, delay_s: float = 0.1) -> dict[str, Any]:
    return _config_for(f"{receiver.endpoint}/v1/traces", delay_s=delay_s)


def _config_for(url: str, *, delay_s: float = 0.1) -> dict[str, Any]:
    return {
        "url": url,
        "resource": {"service.name": "export-test"},
        "scope": ["ragway", "1"],
        "delay_s": delay_s,
        "timeout_s": 5.0,
        "max_queue": 100_000,
        "batch": 512,
    }


def _record(n: int, **attributes: Any) -> SpanRecord:
    trace_id = (0xABC << 100) + n
    stage = ("ragway.auth", 1_000 + n, 2_000 + n, {"ragway.cached": True})
    return (
        trace_id,
        n + 1,
        None,
        f"POST /v1/chat/completions {n}",
        2,
        1_000,
        5_000 + n,
        {"ragway.request_id": f"req_{n}", "gen_ai.usage.input_tokens": n, **attributes},
        [("ragway.fallback", 3_000, {"ragway.to": "b"})],
        2 if n % 2 else 0,
        "it broke" if n % 2 else None,
        [stage],
    )


def _names(receiver: OtlpReceiver, prefix: str) -> set[str]:
    return {span.name for span in receiver.find(lambda span: span.name.startswith(prefix))}


def test_records_arrive_as_the_spans_they_encode_to() -> None:
    with OtlpReceiver(free_port()) as receiver:
        child = ExportChild(_config(receiver))
        try:
            child.send([_record(n) for n in range(5)])
            child.send([_record(5, weird=object())])  # not marshal's: sent as text
            spans = receiver.wait_for(lambda span: span.name.startswith("POST"), count=6)
            stages = receiver.wait_for(lambda span: span.name == "ragway.auth", count=6)
        finally:
            child.close(5)
    by_name = {span.name: span for span in spans}
    first = by_name["POST /v1/chat/completions 1"]
    assert first.trace_id == format((0xABC << 100) + 1, "032x")
    assert first.span_id == format(2, "016x")
    assert first.kind == "server"
    assert first.status_code == 2
    assert first.attributes == {"ragway.request_id": "req_1", "gen_ai.usage.input_tokens": 1}
    assert first.events == [("ragway.fallback", {"ragway.to": "b"})]
    assert first.resource == {"service.name": "export-test"}
    assert by_name["POST /v1/chat/completions 5"].attributes["weird"].startswith("<object")
    parents = {span.parent_span_id for span in stages}
    assert parents == {format(n + 1, "016x") for n in range(6)}
    # the same bytes the gateway's own thread would have posted
    assert len(encode_record(_record(1))) == 2


def test_closing_the_pipe_posts_what_the_child_holds() -> None:
    with OtlpReceiver(free_port()) as receiver:
        child = ExportChild(_config(receiver, delay_s=60))  # would wait a minute to post
        child.send([_record(n) for n in range(300)])
        started = time.monotonic()
        child.close(10)
        assert time.monotonic() - started < 5
        assert len(_names(receiver, "POST")) == 300


def test_a_child_whose_parent_left_does_not_wait_on_a_silent_collector() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # takes connections, never answers
        port = silent.getsockname()[1]
        url = f"http://127.0.0.1:{port}/v1/traces"
        config = {**_config_for(url, delay_s=60), "timeout_s": 30.0}  # posts only at the end
        child = ExportChild(config)
        child.send([_record(n) for n in range(10)])
        started = time.monotonic()
        child.close(60)  # waits for the child to end by itself
        assert time.monotonic() - started < 10  # two tries of 2 s, not of 30


def test_a_stalled_child_never_blocks_the_sender() -> None:
    with OtlpReceiver(free_port()) as receiver:
        child = ExportChild(_config(receiver))
        process = child._process
        assert process is not None
        os.kill(process.pid, signal.SIGSTOP)
        try:
            big = "x" * 4096
            started = time.monotonic()
            for n in range(6_000):  # ~25 MB: past the pipe and the buffer's bound
                child.send([_record(n, text=big)])
            assert time.monotonic() - started < 10
            assert child._dropped > 0
            assert len(child._buffer) <= 17 << 20
        finally:
            os.kill(process.pid, signal.SIGCONT)
            child.close(10)


def test_a_killed_child_is_replaced() -> None:
    def after_kill(span: Any) -> bool:
        return span.name.startswith("POST") and int(span.name.split()[-1]) >= 1_000

    with OtlpReceiver(free_port()) as receiver:
        child = ExportChild(_config(receiver))
        try:
            child.send([_record(1)])
            receiver.wait_for(lambda span: span.name == "POST /v1/chat/completions 1")
            first = child._process
            assert first is not None
            first.kill()
            first.wait()
            deadline = time.monotonic() + 20  # (a restart waits out _RESTART_S at most)
            n = 1_000
            while time.monotonic() < deadline and not receiver.find(after_kill):
                child.send([_record(n)])
                n += 1
                time.sleep(0.2)
            assert receiver.find(after_kill), "no span arrived through a new export process"
            assert child._process is not None
            assert child._process.pid != first.pid
        finally:
            child.close(5)

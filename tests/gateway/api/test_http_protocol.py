"""The gateway's HTTP protocol: writes of one loop turn leave as one socket write, and what
is served through it (every API test uses it) stays byte-exact."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx

from gateway.api.http._exchange import RequestHeaders
from gateway.api.http._http import _FLUSH_BYTES, _CoalescingTransport
from tests.support.servers import ServerThread


class RecordingTransport:
    """Stands in for the socket: records what would have been written."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_loop_turn_leave_as_one_write() -> None:
    raw = RecordingTransport()
    transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"data: 1\n\n")
    transport.write(b"data: 2\n\n")
    assert raw.writes == []
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\ndata: 1\n\ndata: 2\n\n"]
    transport.write(b"later")
    await asyncio.sleep(0)
    assert raw.writes[1:] == [b"later"]


async def test_big_bodies_are_not_held_and_close_flushes_first() -> None:
    raw = RecordingTransport()
    transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"x" * _FLUSH_BYTES)
    assert raw.writes == [b"x" * _FLUSH_BYTES]  # at once: flow control sees it
    transport.write(b"tail")
    transport.close()
    assert raw.writes[-1] == b"tail"
    assert raw.closed
    assert transport.get_extra_info("peername") == "info:peername"


async def test_abort_drops_what_was_not_written() -> None:
    raw = RecordingTransport()
    transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"never")
    transport.abort()
    await asyncio.sleep(0)
    assert raw.writes == []
    assert raw.aborted


async def _events(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/json":
        body = b'{"ok": true}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"12")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    plain = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": plain})
    for n in range(50):  # in one loop turn: coalesced
        await send({"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True})
    await asyncio.sleep(0.01)  # a later turn
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


def test_responses_through_the_protocol_are_exact_and_keep_alive_works() -> None:
    with ServerThread(_events) as server, httpx.Client(base_url=server.base_url) as client:
        for _ in range(3):  # one kept-alive connection
            assert client.get("/json").json() == {"ok": True}
            streamed = client.get("/stream").text
            assert streamed == "".join(f"data: {n}\n\n" for n in range(50)) + "data: [DONE]\n\n"


async def _busy_after_response(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers, then keeps the event loop busy (as usage, settlement, metrics and the access
    log do after a gateway response) before returning."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"4")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"done"})
    time.sleep(0.5)  # noqa: ASYNC251 - blocking on purpose: the loop must not get a turn


def test_a_complete_response_leaves_before_the_work_after_it() -> None:
    with ServerThread(_busy_after_response) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            received = b""
            while not received.endswith(b"done"):
                chunk = sock.recv(65536)
                assert chunk, f"connection closed early: {received!r}"
                received += chunk
            assert time.monotonic() - started < 0.4, "the response waited for the loop turn"
        assert received.startswith(b"HTTP/1.1 200 OK")


def test_pipelined_requests_are_answered_in_order() -> None:
    with ServerThread(_events) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            request = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
            sock.sendall(request * 3)
            received = b""
            while received.count(b'{"ok": true}') < 3:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed early: {received!r}"
                received += chunk
        assert received.count(b"HTTP/1.1 200 OK") == 3


def test_request_headers_decode_on_demand_and_the_first_repeat_wins() -> None:
    headers = RequestHeaders(
        [(b"authorization", b"Bearer a"), (b"x-stainless-os", b"Linux"), (b"authorization", b"B")]
    )
    assert headers.get("authorization") == "Bearer a"
    assert headers["x-stainless-os"] == "Linux"
    assert headers.get("missing") is None
    assert dict(headers) == {"authorization": "Bearer a", "x-stainless-os": "Linux"}
    assert len(headers) == 2

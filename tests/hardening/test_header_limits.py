"""Request heads are bounded (issue 16, finding 4): a head over ``gateway.max_header_bytes``
(64 KiB by default) or ``gateway.max_headers`` gets 431 and its connection is closed, on the
direct front (the OpenAI POST routes) and on uvicorn's way to Litestar alike, for a first,
a keep-alive and a pipelined request. Before, one client streaming a 160 MiB header
stalled ``/healthz`` for seconds and grew the gateway by hundreds of MB.

The gateway here is a ``ragway gateway`` process of its own, so that its memory is this
test's alone; ``gateway.max_headers`` is set to 40 to show the setting is honoured.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from tests.hardening.conftest import Keys
from tests.support.net import free_port
from tests.support.servers import start_process

MAX_HEADERS = 40
MAX_HEADER_BYTES = 64 * 1024  # the default
HELLO: Any = [{"role": "user", "content": "hello"}]


@dataclass(frozen=True)
class Bounded:
    url: str
    port: int
    pid: int


@pytest.fixture(scope="module")
def bounded(hardening_env: dict[str, str]) -> Iterator[Bounded]:
    port = free_port()
    env = {
        **hardening_env,
        "RAGWAY_GATEWAY__PORT": str(port),
        "RAGWAY_GATEWAY__MAX_HEADERS": str(MAX_HEADERS),
        "RAGWAY_LOGGING__LEVEL": "WARNING",
    }
    url = f"http://127.0.0.1:{port}"
    process = start_process(["gateway"], env, ready_url=f"{url}/readyz")
    yield Bounded(url=url, port=port, pid=process.pid)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def exchange(port: int, pieces: Iterator[bytes] | list[bytes], *, timeout_s: float = 10) -> bytes:
    """Send ``pieces`` on one connection while reading every answer until it closes.

    Sending stops at the first error: the gateway closes a connection it refused.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    received: list[bytes] = []

    def read() -> None:
        try:
            while piece := sock.recv(65536):
                received.append(piece)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for piece in pieces:
            sock.sendall(piece)
    except OSError:
        pass  # refused and closed mid-send: what the answer says is checked below
    reader.join(timeout=timeout_s)
    sock.close()
    return b"".join(received)


def statuses(answer: bytes) -> list[int]:
    """The status of each response (one follows another's body without a line break)."""
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


def error_of(answer: bytes) -> dict[str, object]:
    body = answer.rsplit(b"\r\n\r\n", 1)[1]
    error: dict[str, object] = json.loads(body)["error"]
    return error


def huge_header(method: bytes, path: bytes, total: int, *, extra: bytes = b"") -> Iterator[bytes]:
    """A request whose one header value is ``total`` bytes long, sent 1 MiB at a time."""
    yield method + b" " + path + b" HTTP/1.1\r\nHost: gateway\r\n" + extra + b"X-Huge: "
    piece = b"a" * (1 << 20)
    for _ in range(total >> 20):
        yield piece
    yield b"\r\n\r\n"


def test_a_160_mib_header_is_431_at_once_healthz_answers_and_memory_stays(
    bounded: Bounded,
) -> None:
    httpx.get(f"{bounded.url}/healthz").raise_for_status()
    before = rss_bytes(bounded.pid)
    result: dict[str, object] = {}

    def attack() -> None:
        started = time.monotonic()
        result["answer"] = exchange(bounded.port, huge_header(b"GET", b"/healthz", 160 << 20))
        result["seconds"] = time.monotonic() - started

    attacker = threading.Thread(target=attack)
    attacker.start()
    slowest = 0.0
    with httpx.Client(base_url=bounded.url, timeout=30) as client:
        while attacker.is_alive():
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
    attacker.join()
    answer = result["answer"]
    assert isinstance(answer, bytes)
    assert statuses(answer) == [431], answer[:300]
    assert b"connection: close" in answer.lower()
    assert b"x-request-id: " in answer.lower()
    assert error_of(answer)["code"] == "request_headers_too_large"
    seconds = result["seconds"]
    assert isinstance(seconds, float)
    assert seconds < 5  # refused after 64 KiB, not after reading 160 MiB
    assert slowest < 1.0
    assert rss_bytes(bounded.pid) - before < 32 << 20


@pytest.mark.parametrize(
    ("method", "path"),
    [(b"POST", b"/v1/chat/completions"), (b"GET", b"/v1/models"), (b"GET", b"/nowhere")],
    ids=["direct-front", "litestar", "no-route"],
)
def test_too_many_or_too_large_headers_are_431_on_every_way_in(
    bounded: Bounded, keys: Keys, method: bytes, path: bytes
) -> None:
    auth = b"Authorization: Bearer %b\r\n" % keys.member.encode()
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS))
    head = method + b" " + path + b" HTTP/1.1\r\nHost: gateway\r\n" + auth
    answer = exchange(bounded.port, [head + many + b"Content-Length: 0\r\n\r\n"])
    assert statuses(answer) == [431], answer[:300]
    # just over 64 KiB in one read (one header) and spread over reads (several headers)
    big = b"X-Big: " + b"b" * MAX_HEADER_BYTES + b"\r\n"
    assert statuses(exchange(bounded.port, [head + big + b"\r\n"])) == [431]
    spread = [head] + [b"X-S%d: %b\r\n" % (i, b"s" * 8000) for i in range(9)] + [b"\r\n"]
    assert statuses(exchange(bounded.port, spread)) == [431]


def test_pipelined_and_keep_alive_requests_are_held_to_the_limit_each(
    bounded: Bounded, keys: Keys
) -> None:
    auth = b"Authorization: Bearer %b\r\n" % keys.member.encode()
    body = json.dumps({"model": "chat", "messages": HELLO}).encode()
    chat = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n%bContent-Type: "
        b"application/json\r\nContent-Length: %d\r\n\r\n%b" % (auth, len(body), body)
    )
    models = b"GET /v1/models HTTP/1.1\r\nHost: gateway\r\n" + auth + b"\r\n"
    # pipelined in one write: both are answered, then the huge third gets 431
    pipelined = chat + models + b"GET /v1/models HTTP/1.1\r\nX-Huge: " + b"h" * 300_000
    assert statuses(exchange(bounded.port, [pipelined, b"\r\n\r\n"])) == [200, 200, 431]
    # keep-alive: each request's head has its own 64 KiB (three heads of 40 KiB pass) ...
    fine = b"X-Fine: " + b"f" * 40_000 + b"\r\n"
    close = b"Connection: close\r\n"
    three = [chat.replace(auth, auth + fine, 1), models.replace(auth, auth + fine, 1)]
    three.append(models.replace(auth, auth + fine + close, 1))
    assert statuses(exchange(bounded.port, three)) == [200, 200, 200]
    # ... and a streamed huge head after a keep-alive request is cut off as it arrives
    answer = exchange(bounded.port, [chat, *huge_header(b"POST", b"/v1/chat/completions", 8 << 20)])
    assert statuses(answer) == [200, 431]


def test_the_openai_client_gets_431_and_headers_within_the_limit_pass(
    bounded: Bounded, keys: Keys
) -> None:
    client = openai.OpenAI(base_url=f"{bounded.url}/v1", api_key=keys.member, max_retries=0)
    fine = client.with_options(default_headers={"X-Context": "c" * 30_000})
    assert fine.chat.completions.create(model="chat", messages=HELLO).choices
    assert fine.models.list().data
    huge = client.with_options(default_headers={"X-Context": "c" * 70_000})
    with pytest.raises(openai.APIStatusError) as refused:
        huge.chat.completions.create(model="chat", messages=HELLO)
    assert refused.value.status_code == 431
    with pytest.raises(openai.APIStatusError) as refused:
        huge.models.list()
    assert refused.value.status_code == 431

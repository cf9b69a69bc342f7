"""Hand-written bad input: malformed JSON, wrong types, huge and deep bodies, invalid UTF-8
and hostile ``X-Request-ID`` headers. Every answer is a clear 4xx in OpenAI's error shape."""

from __future__ import annotations

import json
import secrets
import socket
from typing import Any

import httpx
import openai
import psycopg
import pytest

from tests.hardening.conftest import MAX_BODY_BYTES, Gateway, Keys, bearer, client
from tests.support.net import wait_until

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hello"}]


def post_raw(gateway: Gateway, key: str, path: str, body: bytes) -> httpx.Response:
    headers = {**bearer(key), "content-type": "application/json"}
    return httpx.post(f"{gateway.url}{path}", content=body, headers=headers, timeout=30)


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return dict(error)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"not json",
        b'{"model": "chat", "messages": [}',
        b"",
        b"null",
        b"[]",
        b'"a string"',
        b"123",
        b'{"model": "chat", "messages": ' + b"[" * 20 + b"]" * 20 + b"}",
        b'{"model": "chat", "messages": [{"role": "user", "content": "hi"}], "model": 5}',
        b"\xef\xbb\xbf{}",
        b'{"model": NaN}',
    ],
)
@pytest.mark.parametrize("path", [CHAT, "/v1/embeddings", "/v1/vector_stores"])
def test_invalid_json_is_a_400(gateway: Gateway, keys: Keys, path: str, body: bytes) -> None:
    assert_openai_error(post_raw(gateway, keys.admin, path, body), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"model": 5, "messages": HELLO},
        {"model": "chat", "messages": "hello"},
        {"model": "chat", "messages": [{"role": 7, "content": "x"}]},
        {"model": "chat", "messages": HELLO, "temperature": "hot"},
        {"model": "chat", "messages": HELLO, "max_tokens": -1},
        {"model": "chat", "messages": HELLO, "n": {"a": 1}},
        {"model": "chat", "messages": HELLO, "stream": "yes"},
        {"model": "chat", "messages": HELLO, "tools": "all"},
        {"model": ["chat"], "messages": HELLO},
        {"messages": HELLO},
        {"model": "chat"},
    ],
)
def test_wrong_types_in_chat_are_a_400(gateway: Gateway, keys: Keys, body: dict[str, Any]) -> None:
    response = post_raw(gateway, keys.admin, CHAT, json.dumps(body).encode())
    assert_openai_error(response, 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", {"model": "embed", "input": 5}),
        ("/v1/embeddings", {"model": "embed", "input": [{"a": 1}]}),
        ("/v1/embeddings", {"model": "embed"}),
        ("/v1/vector_stores", {"name": 5}),
        ("/v1/vector_stores", {"name": "x", "metadata": "not a map"}),
        ("/v1/vector_stores", {"name": "x", "metadata": {"k": {"nested": 1}}}),
        ("/v1/vector_stores", {"name": "x", "file_ids": "file-1"}),
        ("/v1/vector_stores", {"name": "x", "expires_after": 3}),
    ],
)
def test_wrong_types_elsewhere_are_a_400(
    gateway: Gateway, keys: Keys, path: str, body: dict[str, Any]
) -> None:
    assert_openai_error(post_raw(gateway, keys.admin, path, json.dumps(body).encode()), 400)


def test_the_official_client_sees_a_bad_request(gateway: Gateway, keys: Keys) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client(gateway, keys.admin).chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "hello"}],
            extra_body={"temperature": "hot"},
        )
    assert raised.value.status_code == 400


@pytest.mark.parametrize("path", [CHAT, "/v1/embeddings", "/v1/vector_stores", "/admin/keys"])
def test_a_body_over_max_body_bytes_is_a_413(gateway: Gateway, keys: Keys, path: str) -> None:
    text = "x" * (MAX_BODY_BYTES + 1)
    body = json.dumps({"model": "chat", "messages": [{"role": "user", "content": text}]})
    error = assert_openai_error(post_raw(gateway, keys.admin, path, body.encode()), 413)
    assert error["code"] == "request_too_large"
    with pytest.raises(openai.APIStatusError) as raised:
        client(gateway, keys.admin).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": text}]
        )
    assert raised.value.status_code == 413


def test_a_huge_chunked_body_without_length_is_a_413(gateway: Gateway, keys: Keys) -> None:
    def pieces() -> Any:
        for _ in range(64):
            yield b"[" * 16384

    response = httpx.post(
        f"{gateway.url}{CHAT}",
        content=pieces(),
        headers={**bearer(keys.admin), "content-type": "application/json"},
        timeout=30,
    )
    assert_openai_error(response, 413)


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("path", [CHAT, "/v1/embeddings", "/v1/vector_stores"])
def test_deeply_nested_json_is_a_clear_400(
    gateway: Gateway, keys: Keys, path: str, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    bodies = [
        nested,
        '{"model": "chat", "messages": ' + nested + "}",
        '{"model": "chat", "messages": [{"role": "user", "content": "x", "extra": '
        + '{"a":' * depth
        + "1"
        + "}" * depth
        + "}]}",
    ]
    sent = [body for body in bodies if len(body) <= MAX_BODY_BYTES]
    assert sent
    for body in sent:
        error = assert_openai_error(post_raw(gateway, keys.admin, path, body.encode()), 400)
        assert "nested" in error["message"] or depth < 100, error
    assert httpx.get(f"{gateway.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "chat", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
        b'{"model": "chat", "messages": [{"role": "user", "content": "\xc3\x28"}]}',
        b'{"model": "chat", "messages": [{"role": "user", "content": "\xed\xa0\x80"}]}',
        b'{"model": "chat\x80", "messages": []}',
        b'{"model": "chat", "messages": [{"role": "user", "content": "\\ud800"}]}',
    ],
)
@pytest.mark.parametrize("path", [CHAT, "/v1/embeddings", "/v1/vector_stores"])
def test_invalid_utf8_is_a_400(gateway: Gateway, keys: Keys, path: str, body: bytes) -> None:
    assert_openai_error(post_raw(gateway, keys.admin, path, body), 400)


@pytest.mark.parametrize(
    "presented",
    [
        "abc\r\nSet-Cookie: owned=1",
        "abc\nX-Injected: 1",
        "a" * 10_000,
        "caf\u00e9-\u2603-\U0001f600",
        '{"level": "critical", "msg": "forged"}',
        "x\ty",
        "   ",
        "sk-rgw-" + "k" * 43,  # a key as request id would be logged on every line
    ],
)
def test_hostile_request_ids_are_replaced(gateway: Gateway, keys: Keys, presented: str) -> None:
    raw = presented.encode("utf-8")
    answer = raw_request(
        gateway,
        b"POST " + CHAT.encode() + b" HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + keys.member.encode() + b"\r\n"
        b"X-Request-ID: " + raw + b"\r\n"
        b"Connection: close\r\n",
        json.dumps({"model": "chat", "messages": HELLO}).encode(),
    )
    head, _, _ = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    lines = head.split(b"\r\n")[1:]
    assert not any(line.lower().startswith((b"set-cookie", b"x-injected")) for line in lines)
    if b" 200 " in status:
        echoed = [line for line in lines if line.lower().startswith(b"x-request-id:")]
        assert len(echoed) == 1, head
        value = echoed[0].split(b":", 1)[1].strip()
        assert value != raw.strip()
        assert len(value) <= 128
        assert value.isascii()
    else:  # the HTTP server refused the header outright: fine, as long as it is a 4xx
        assert status.split(b" ")[1].startswith(b"4"), head
    for line in gateway.log_text().splitlines():
        assert "owned=1" not in line or line.startswith("{")
        assert not line.startswith(("X-Injected", "Set-Cookie"))


def test_a_sane_request_id_is_echoed(gateway: Gateway, keys: Keys) -> None:
    response = httpx.post(
        f"{gateway.url}{CHAT}",
        json={"model": "chat", "messages": HELLO},
        headers={**bearer(keys.member), "X-Request-ID": "trace-42.a:b"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "trace-42.a:b"


def test_every_log_line_is_one_json_object(gateway: Gateway, keys: Keys) -> None:
    """Whatever the hostile headers above did, the log is still one JSON object a line."""
    raw_request(
        gateway,
        b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + keys.member.encode() + b"\r\n"
        b'X-Request-ID: "}\n{"forged": true\r\nConnection: close\r\n',
        json.dumps({"model": "chat", "messages": HELLO}).encode(),
    )
    for line in gateway.log_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            assert "forged" not in entry, line


def raw_request(gateway: Gateway, head: bytes, body: bytes) -> bytes:
    """Send bytes an HTTP client library would refuse to send; return the whole answer."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        chunks = []
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            chunks.append(piece)
    return b"".join(chunks)


def test_dates_at_the_end_of_the_calendar_are_a_400(gateway: Gateway, keys: Keys) -> None:
    for params in ({"start": "9999-12-31", "end": "9999-12-31"}, {"end": "9999-12-31"}):
        response = httpx.get(
            f"{gateway.url}/admin/usage", params=params, headers=bearer(keys.admin), timeout=30
        )
        assert assert_openai_error(response, 400)["param"] == "end"


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_a_huge_max_tokens_is_a_400_not_a_quota_outage(
    gateway: Gateway, keys: Keys, field: str
) -> None:
    before = gateway.log_text().count("quota store unreachable")
    body = {"model": "chat", "messages": HELLO, field: 10**30}
    error = assert_openai_error(
        post_raw(gateway, keys.member, CHAT, json.dumps(body).encode()), 400
    )
    assert error["param"] == field
    body[field] = 2**31  # just past the bound: refused by the same check
    assert_openai_error(post_raw(gateway, keys.member, CHAT, json.dumps(body).encode()), 400)
    assert gateway.log_text().count("quota store unreachable") == before


def test_a_nul_in_a_model_name_loses_no_usage_rows(
    gateway: Gateway, keys: Keys, hardening_database_url: str
) -> None:
    """The usage row of a request for model "chat\\0" is written, and so are its neighbours'."""
    tag = secrets.token_hex(6)
    ids = [f"nul-{tag}-{n}" for n in range(3)]
    for request_id, model in zip(ids, ["chat", "chat\x00", "chat"], strict=True):
        httpx.post(
            f"{gateway.url}{CHAT}",
            json={"model": model, "messages": HELLO},
            headers={**bearer(keys.member), "X-Request-ID": request_id},
            timeout=30,
        )

    def written() -> list[str]:
        with psycopg.connect(hardening_database_url) as conn:
            rows = conn.execute(
                "SELECT model FROM usage_events WHERE request_id = ANY(%s) ORDER BY request_id",
                (ids,),
            ).fetchall()
        return [model for (model,) in rows]

    wait_until(lambda: len(written()) == 3, timeout_s=20, interval_s=0.2)
    assert written() == ["chat", "chat\ufffd", "chat"]

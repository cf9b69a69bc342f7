"""HTTP/1.1 details of the API routes, on raw sockets: pipelining, bodies too large, chunked
bodies, ``Expect: 100-continue``, HTTP/1.0. Run against the gateway's own front (which serves
the OpenAI POST routes without ASGI) and against uvicorn's protocol (``api_url``'s params)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

_CHAT = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}).encode()
_PATH = "/v1/chat/completions"


def _request(
    key: str, body: bytes, *, extra: str = "", version: str = "1.1", path: str = _PATH
) -> bytes:
    head = (
        f"POST {path} HTTP/{version}\r\nhost: test\r\nauthorization: Bearer {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def _connect(api_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = api_url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body (what these routes send when not streaming)."""
    status_line = await asyncio.wait_for(reader.readline(), 10)
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, value = line.decode().split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


def _front(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["api_url"] == "front")


async def test_pipelined_requests_are_answered_in_order(api_url: str, api_key: str) -> None:
    reader, writer = await _connect(api_url)
    writer.write(
        _request(api_key, _CHAT, extra="x-request-id: first-one\r\n")
        + _request(api_key, _CHAT, extra="x-request-id: second-one\r\n")
    )
    first = await _response(reader)
    second = await _response(reader)
    writer.close()
    assert [first[0], second[0]] == [200, 200]
    assert first[1]["x-request-id"] == "first-one"
    assert second[1]["x-request-id"] == "second-one"
    assert json.loads(second[2])["object"] == "chat.completion"


async def test_a_body_over_the_limit_is_refused_before_it_arrives(
    api_url: str, api_key: str, request: pytest.FixtureRequest
) -> None:
    reader, writer = await _connect(api_url)
    writer.write(  # 200 KiB declared (the API tests' limit is 64 KiB), a few bytes sent
        f"POST {_PATH} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {api_key}\r\n"
        f'content-length: {200 * 1024}\r\n\r\n{{"model": '.encode()
    )
    status, headers, body = await _response(reader)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    if _front(request):  # the rest of the body is never read: the connection ends
        assert headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()


async def test_a_body_that_grows_past_the_limit_is_refused(api_url: str, api_key: str) -> None:
    reader, writer = await _connect(api_url)
    writer.write(
        f"POST {_PATH} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {api_key}\r\n"
        "transfer-encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"x" * 32 * 1024
    for _ in range(3):  # 96 KiB, and no Content-Length to say so up front
        writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
    writer.write(b"0\r\n\r\n")
    status, _, body = await _response(reader)
    writer.close()
    assert status == 413
    assert "larger than 65536 bytes" in json.loads(body)["error"]["message"]


async def test_a_chunked_body_is_read_whole(api_url: str, api_key: str) -> None:
    reader, writer = await _connect(api_url)
    writer.write(
        f"POST {_PATH} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {api_key}\r\n"
        "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".encode()
    )
    for part in (_CHAT[:10], _CHAT[10:]):
        writer.write(b"%x\r\n%b\r\n" % (len(part), part))
        await writer.drain()
        await asyncio.sleep(0.05)  # arrives in pieces: the handler waits for the rest
    writer.write(b"0\r\n\r\n")
    status, _, body = await _response(reader)
    writer.close()
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["role"] == "assistant"


async def test_expect_100_continue(api_url: str, api_key: str) -> None:
    reader, writer = await _connect(api_url)
    head = _request(api_key, _CHAT, extra="expect: 100-continue\r\n")[: -len(_CHAT)]
    writer.write(head)
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(_CHAT)
    status, _, _ = await _response(reader)
    writer.close()
    assert status == 200


async def test_http_10_gets_its_answer_and_the_connection_closes(
    api_url: str, api_key: str
) -> None:
    reader, writer = await _connect(api_url)
    writer.write(_request(api_key, _CHAT, version="1.0"))
    status, headers, _ = await _response(reader)
    assert status == 200
    assert headers.get("connection") == "close"
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()


async def test_a_query_string_is_served_too(api_url: str, api_key: str) -> None:
    reader, writer = await _connect(api_url)
    writer.write(_request(api_key, _CHAT, path=_PATH + "?trace=1"))
    status, _, body = await _response(reader)
    writer.close()
    assert status == 200
    assert json.loads(body)["object"] == "chat.completion"


async def test_errors_keep_the_connection_usable(api_url: str, api_key: str) -> None:
    reader, writer = await _connect(api_url)
    writer.write(_request(api_key, b"{not json"))
    status, _, body = await _response(reader)
    assert status == 400
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    writer.write(_request(api_key, _CHAT))
    status, _, _ = await _response(reader)
    writer.close()
    assert status == 200


async def test_a_refused_body_still_sending_gets_its_answer(api_url: str, api_key: str) -> None:
    """413 while the client goes on sending 2 MiB it has not been told to stop: the answer
    must reach it (a close with unread bytes resets the connection and can destroy it)."""
    reader, writer = await _connect(api_url)
    size = 2 * 1024 * 1024
    writer.write(
        f"POST {_PATH} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {api_key}\r\n"
        f"content-type: application/json\r\ncontent-length: {size}\r\n\r\n".encode()
    )
    with contextlib.suppress(ConnectionError):
        for _ in range(size // 65536):
            writer.write(b"x" * 65536)
            await writer.drain()
    status, _, body = await _response(reader)
    writer.close()
    assert status == 413
    assert "larger than 65536 bytes" in json.loads(body)["error"]["message"]

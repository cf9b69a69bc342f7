"""The upstream HTTP client against real loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.providers.http import (
    HttpClient,
    HttpConnectError,
    HttpProtocolError,
    HttpTimeoutError,
    Url,
    iter_sse,
)
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(max_idle_per_host=4, connect_timeout_s=2)
    yield http
    await http.aclose()


async def test_keep_alive_reuses_one_connection(client: HttpClient) -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = Url.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1")
    for _ in range(5):
        response = await client.request("GET", url, "/x", headers={}, timeout_s=2)
        assert response.status == 200
        assert await response.read() == b"ok"
    assert connections == 1
    server.close()


async def test_a_connection_the_server_closed_is_replaced_transparently(
    client: HttpClient,
) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        # keep-alive promised, then closed right after: the pooled connection is stale
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = Url.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    for _ in range(3):
        response = await client.request("POST", url, "/y", headers=JSON, body=b"{}", timeout_s=2)
        assert await response.read() == b"ok"
    server.close()


async def test_a_body_delimited_by_connection_close(client: HttpClient) -> None:
    async def old_style(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(old_style, "127.0.0.1", 0)
    url = Url.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    response = await client.request("GET", url, "/", headers={}, timeout_s=2)
    assert await response.read() == b"all of it"
    server.close()


async def test_connect_refused_and_timeouts(client: HttpClient) -> None:
    with pytest.raises(HttpConnectError):
        await client.request(
            "GET", Url.parse(f"http://127.0.0.1:{free_port()}"), "/", headers={}, timeout_s=1
        )

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = Url.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    started = asyncio.get_running_loop().time()
    with pytest.raises(HttpTimeoutError):
        await client.request("GET", url, "/", headers={}, timeout_s=0.3)
    assert asyncio.get_running_loop().time() - started < 2
    server.close()


async def test_garbage_is_a_protocol_error(client: HttpClient) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    url = Url.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    with pytest.raises((HttpProtocolError, HttpConnectError)):
        await client.request("GET", url, "/", headers={}, timeout_s=2)
    server.close()


async def test_streams_sse_and_a_reset_midway_is_a_protocol_error(client: HttpClient) -> None:
    with FakeOpenAI() as fake:
        url = Url.parse(fake.base_url)
        body = b'{"model":"m","stream":true,"messages":[{"role":"user","content":"a b c"}]}'
        response = await client.request(
            "POST", url, "/chat/completions", headers=JSON, body=body, timeout_s=2
        )
        events = [e.data async for e in iter_sse(response.iter_bytes())]
        assert events[-1] == b"[DONE]"
        assert len(events) == 7  # role, "echo:", a, b, c, finish, [DONE]

        fake.script("reset")
        response = await client.request(
            "POST", url, "/chat/completions", headers=JSON, body=body, timeout_s=2
        )
        with pytest.raises(HttpProtocolError):
            async for _ in response.iter_bytes():
                pass


async def test_cancelling_a_stream_closes_the_upstream_connection(client: HttpClient) -> None:
    with FakeOpenAI() as fake:
        fake.script("hang")
        body = b'{"model":"m","stream":true,"messages":[{"role":"user","content":"a b c"}]}'
        response = await client.request(
            "POST",
            Url.parse(fake.base_url),
            "/chat/completions",
            headers=JSON,
            body=body,
            timeout_s=2,
        )

        async def consume() -> None:
            async for _ in response.iter_bytes():
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if fake.disconnects:
                break
            await asyncio.sleep(0.05)
        assert fake.disconnects == 1


async def test_sse_parser_handles_split_crlf_and_multiline_events() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (
            b"event: ping\r",
            b"\ndata: a\r\n",
            b"data: b\r\n\r\n: comment\n\n",
            b"data: c",
        ):
            yield piece

    events = [(e.event, e.data) async for e in iter_sse(pieces())]
    assert events == [("ping", b"a\nb"), ("message", b"c")]

"""A stream that ends early is charged for what it sent.

The running gateway (real Postgres and Redis) streams from a loopback upstream that sends many
chunks. A raw-socket client reads part of the answer and closes its socket (499); an upstream
breaks its connection midway (502). Either way the usage row counts the prompt and the text
that went out (characters over ``chars_per_token``, as the gateway estimates everywhere), the
key's tpm counter holds that settlement, and the next request over tpm is refused.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import psycopg
import pytest
from openai.types.chat import ChatCompletionMessageParam

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from gateway.policy.quotas import estimate_prompt_tokens
from tests.gateway.admin.conftest import create_key
from tests.support.net import free_port
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests
from tests.support.threaded_server import ThreadedStreamServer

UPSTREAM_ENV = {"CUT_STREAMS_UPSTREAM_KEY": "sk-upstream-" + "c" * 20}
PIECE = "abcdefghijklmnopqrs "  # 20 characters: 5 estimated tokens a chunk
CHUNKS = 60  # the whole answer: 300 tokens
CUT_AT = 24  # the "cut" upstream breaks off after this many answer chunks
TPM = 400
MAX_TOKENS = 320  # the upstream ignores it: the answer is always CHUNKS pieces
PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
PROMPT_ESTIMATE = estimate_prompt_tokens({"messages": PROMPT})  # what the gateway reserves
PER_TOKEN = 4.0  # chars_per_token


class ChunkingUpstream(ThreadedStreamServer):
    """OpenAI's streaming wire format: a role chunk, ``CHUNKS`` chunks of ``PIECE`` (``drip_s``
    apart), a finish chunk and a usage chunk. Model ``cut`` breaks the connection (a reset)
    after ``CUT_AT`` answer chunks; model ``silent`` sends no usage chunk."""

    def __init__(self, *, drip_s: float) -> None:
        self.port = free_port()
        self.drip_s = drip_s
        self._init_server()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._answer(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        body = json.loads(await reader.readexactly(int(length.group(1)) if length else 0))
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        base = {"id": "chatcmpl-cut", "object": "chat.completion.chunk", "created": 1}
        base["model"] = body["model"]
        events: list[dict[str, Any]] = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
        ]
        for _ in range(CHUNKS):
            events.append({**base, "choices": [{"index": 0, "delta": {"content": PIECE}}]})
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 9, "completion_tokens": CHUNKS * 5, "total_tokens": 9 + 300}
        if body["model"] != "silent":
            events.append({**base, "choices": [], "usage": usage})
        for index, event in enumerate(events):
            if body["model"] == "cut" and index == CUT_AT + 1:
                await writer.drain()
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return False
            if index:
                await asyncio.sleep(self.drip_s)
            data = b"data: " + json.dumps(event).encode() + b"\n\n"
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
        writer.write(b"10\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
        await writer.drain()
        return True


@dataclass(frozen=True)
class Gateway:
    host: str
    port: int
    base_url: str
    database_url: str


@pytest.fixture(scope="module")
def gateway(
    settings: Settings, database_url: str, redis_service: RedisForTests
) -> Iterator[Gateway]:
    with ChunkingUpstream(drip_s=0.01) as upstream:
        deployment = {
            "provider": "openai",
            "base_url": f"http://127.0.0.1:{upstream.port}",
            "api_key_env": "CUT_STREAMS_UPSTREAM_KEY",
            "timeout_s": 5,
        }
        providers = ProvidersSettings.model_validate(
            {
                "models": {
                    "long": {"deployments": [{**deployment, "name": "long-a", "model": "long"}]},
                    "cut": {"deployments": [{**deployment, "name": "cut-a", "model": "cut"}]},
                    "silent": {
                        "deployments": [{**deployment, "name": "silent-a", "model": "silent"}]
                    },
                }
            }
        )
        policy = settings.policy.model_copy(
            update={"usage": settings.policy.usage.model_copy(update={"flush_interval_s": 0.1})}
        )
        app = create_app(
            settings.model_copy(update={"providers": providers, "policy": policy}),
            database_url=database_url,
            redis_url=redis_service.url,
            env=UPSTREAM_ENV,
        )
        with ServerThread(app) as server:
            host, port = server.base_url.removeprefix("http://").split(":")
            yield Gateway(host, int(port), server.base_url, database_url)


@dataclass(frozen=True)
class Row:
    status: int
    prompt_tokens: int
    completion_tokens: int
    estimated: bool


def usage_row(gateway: Gateway, key_id: str) -> Row:
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(gateway.database_url) as conn:
            row = conn.execute(
                "SELECT status, prompt_tokens, completion_tokens, tokens_estimated "
                "FROM usage_events WHERE key_id = %s",
                (key_id,),
            ).fetchone()
        if row is not None:
            return Row(*row)
        assert time.monotonic() < deadline, "no usage row was written"
        time.sleep(0.05)


def read_then_hang_up(gateway: Gateway, key: str, *, events: int) -> str:
    """Stream a chat over a raw socket, read ``events`` answer chunks, close the socket;
    the text that arrived."""
    body = json.dumps(
        {"model": "long", "messages": PROMPT, "stream": True, "max_tokens": MAX_TOKENS}
    ).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {gateway.host}\r\n"
        f"authorization: Bearer {key}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((gateway.host, gateway.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        texts: list[str] = []
        while len(texts) < events:
            data = sock.recv(65536)
            assert data, "the gateway ended the stream early"
            received += data
            found = re.findall(rb"data: (\{.*?\})\n\n", received)
            texts = [
                c["choices"][0]["delta"].get("content") or ""
                for c in map(json.loads, found)
                if c.get("choices")
            ]
            texts = [t for t in texts if t]
    return "".join(texts)


def assert_charged_for(row: Row, sent_chars: int, *, slack_chunks: int) -> None:
    """The row counts the prompt estimate and the text sent: at least what the client saw,
    at most ``slack_chunks`` pieces more (chunks in flight when it hung up)."""
    low = math.ceil(sent_chars / PER_TOKEN)
    high = math.ceil((sent_chars + slack_chunks * len(PIECE)) / PER_TOKEN)
    assert row.prompt_tokens == PROMPT_ESTIMATE
    assert 0 < low <= row.completion_tokens <= high
    assert row.estimated


def assert_tpm_holds(gateway: Gateway, key: str, row: Row) -> None:
    """The tpm counter holds the settlement, so the next request over tpm is refused."""
    sdk = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.RateLimitError) as refused:
        sdk.chat.completions.create(model="long", messages=PROMPT, max_tokens=MAX_TOKENS)
    used, requested = row.prompt_tokens + row.completion_tokens, PROMPT_ESTIMATE + MAX_TOKENS
    assert f"limit {TPM}, used {used}, requested {requested}" in refused.value.message


def test_a_client_that_hangs_up_is_charged_for_the_chunks_it_was_sent(gateway: Gateway) -> None:
    created = create_key(gateway.database_url, "hangs-up", tpm=TPM)
    text = read_then_hang_up(gateway, created.key, events=30)
    assert text == PIECE * 30

    row = usage_row(gateway, created.id)
    assert row.status == 499
    assert_charged_for(row, len(text), slack_chunks=4)
    assert_tpm_holds(gateway, created.key, row)


def test_a_stream_the_upstream_cuts_is_charged_for_the_chunks_sent(gateway: Gateway) -> None:
    created = create_key(gateway.database_url, "cut-off", tpm=TPM)
    sdk = openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=created.key, max_retries=0, timeout=10
    )
    stream = sdk.chat.completions.create(
        model="cut", messages=PROMPT, stream=True, max_tokens=MAX_TOKENS
    )
    texts: list[str] = []
    with pytest.raises(openai.APIError):  # the error event that ends the stream
        texts.extend(c.choices[0].delta.content or "" for c in stream if c.choices)
    text = "".join(texts)
    assert text == PIECE * CUT_AT

    row = usage_row(gateway, created.id)
    assert row.status == 502
    assert_charged_for(row, len(text), slack_chunks=0)
    assert_tpm_holds(gateway, created.key, row)


def test_a_stream_that_ran_to_the_end_keeps_the_upstreams_count(gateway: Gateway) -> None:
    created = create_key(gateway.database_url, "ran", tpm=10_000)
    sdk = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=created.key, max_retries=0)
    chunks = list(
        sdk.chat.completions.create(
            model="long", messages=PROMPT, stream=True, max_tokens=MAX_TOKENS
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == PIECE * 60
    assert usage_row(gateway, created.id) == Row(200, 9, CHUNKS * 5, estimated=False)


def test_a_stream_without_a_usage_report_is_charged_for_what_it_sent(gateway: Gateway) -> None:
    created = create_key(gateway.database_url, "silent", tpm=TPM)
    sdk = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=created.key, max_retries=0)
    chunks = list(
        sdk.chat.completions.create(
            model="silent", messages=PROMPT, stream=True, max_tokens=MAX_TOKENS
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == PIECE * CHUNKS

    row = usage_row(gateway, created.id)
    assert row.status == 200
    assert_charged_for(row, len(text), slack_chunks=0)
    assert_tpm_holds(gateway, created.key, row)

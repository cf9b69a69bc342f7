"""HTTP/1.1 written by hand, as the loopback upstream fakes (OpenAI, Anthropic) speak it: read a
request, answer with a fixed-length body or in chunks, frame server-sent events, close with a
reset. By hand so that a fake can misbehave in ways a framework would not allow."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import NamedTuple

__all__ = ["RawRequest", "read_request", "reset", "send_chunk", "send_response", "sse"]


class RawRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    """The next request on a keep-alive connection; None once the client has closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RawRequest(method, path, headers, body)


async def send_response(
    writer: asyncio.StreamWriter,
    status: int,
    reason: str,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> None:
    """A response with a fixed-length body; ``extra`` headers follow the content ones."""
    headers = {"content-type": content_type, "content-length": str(len(body))}
    headers.update(extra or {})
    head = f"HTTP/1.1 {status} {reason}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + body)
    await writer.drain()


async def send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One chunk of a ``transfer-encoding: chunked`` body."""
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


def sse(data: str, event: str | None = None) -> bytes:
    """One server-sent event: ``data:`` alone (OpenAI chat) or after an ``event:`` line."""
    named = f"event: {event}\n" if event is not None else ""
    return f"{named}data: {data}\n\n".encode()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed upstream or a middlebox would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

"""Server-sent events from a byte stream (the WHATWG event-stream format, as providers use it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

__all__ = ["SseEvent", "SseParser", "iter_sse"]


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One event: its ``event:`` name (``message`` when absent) and its joined ``data:`` lines."""

    event: str
    data: bytes


class SseParser:
    """Events from bytes fed as they arrive; ``feed`` returns the events each piece completes.

    Synchronous, so a reader that got several events in one piece handles them in one loop
    instead of an async-generator step each (``iter_sse`` is the async form)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        buffer = self._buffer + chunk if self._buffer else chunk
        events: list[SseEvent] = []
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # the \n of a \r\n may be in the next chunk
                self._buffer = buffer
                return events
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        while True:
            end = buffer.find(b"\n\n")
            if end < 0:
                break
            block, buffer = buffer[:end], buffer[end + 2 :]
            event = _parse(block)
            if event is not None:
                events.append(event)
        self._buffer = buffer
        return events

    def close(self) -> list[SseEvent]:
        """An unterminated last event, if any."""
        buffer, self._buffer = self._buffer, b""
        if buffer.strip():
            event = _parse(buffer.replace(b"\r\n", b"\n").rstrip(b"\n"))
            if event is not None:
                return [event]
        return []


async def iter_sse(chunks: AsyncIterator[bytes]) -> AsyncIterator[SseEvent]:
    """Parse events as the bytes arrive; an unterminated last event is still delivered."""
    parser = SseParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event


def _parse(block: bytes) -> SseEvent | None:
    if block.startswith(b"data: ") and b"\n" not in block:  # the common case: one data line
        return SseEvent("message", block[6:])
    name = "message"
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    if not data:
        return None
    return SseEvent(name, b"\n".join(data))

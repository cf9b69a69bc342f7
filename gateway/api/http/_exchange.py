"""One HTTP request and its response, as the OpenAI serving core sees them.

Two kinds serve it: ``AsgiExchange`` (``_asgi``) over ASGI's receive/send, for any ASGI
server and for Litestar's route table; and ``DirectExchange`` (``_front``), which the
gateway's own HTTP protocol creates for the hot POST routes without an ASGI scope, message
dicts or a task per request to notice a disconnect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from gateway.platform.errors import PayloadTooLargeError

__all__ = ["Exchange", "RequestHeaders", "declares_more_than", "payload_too_large"]

Headers = Iterable[tuple[str, str]]


class Exchange(Protocol):
    """What the serving core needs of an HTTP exchange."""

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def disconnected(self) -> bool:
        """The client went away (only noticed while watching)."""
        ...

    async def read_body(self, limit: int) -> bytes:
        """The whole request body; ``PayloadTooLargeError`` beyond ``limit`` bytes."""
        ...

    def watch(self) -> None:
        """From now on a client that goes away cancels the serving task."""
        ...

    def unwatch(self) -> None:
        """Stop watching (before the last write: a finished response reads as a disconnect)."""
        ...

    async def send_json(self, status: int, body: bytes, headers: Headers) -> None:
        """A whole JSON response with its Content-Length."""
        ...

    async def start_stream(self, status: int, content_type: bytes, headers: Headers) -> None: ...

    async def send_chunk(self, data: bytes) -> None: ...

    async def end_stream(self, data: bytes) -> None:
        """The last bytes of a streamed response."""
        ...


class RequestHeaders(Mapping[str, str]):
    """A request's headers by lowercase name, decoded only when asked for.

    The SDKs send a dozen headers (``x-stainless-*`` and more); a request reads two or
    three. HTTP servers here already lowercase the names.
    """

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._decoded: dict[str, str] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        wanted = key.encode("latin-1")
        for name, value in self._raw:
            if name == wanted:
                return value.decode("latin-1")
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def __contains__(self, key: object) -> bool:  # (Mapping's raises and catches a KeyError)
        return isinstance(key, str) and self.get(key) is not None

    def _all(self) -> dict[str, str]:
        if self._decoded is None:
            decoded: dict[str, str] = {}
            for name, value in self._raw:  # the first of repeated names wins, as in get()
                decoded.setdefault(name.decode("latin-1"), value.decode("latin-1"))
            self._decoded = decoded
        return self._decoded

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def payload_too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body is larger than {limit} bytes (gateway.max_body_bytes)"
    )


def declares_more_than(headers: Mapping[str, str], limit: int) -> bool:
    """The request's Content-Length says its body is over ``limit`` bytes (refused unread)."""
    declared = headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit

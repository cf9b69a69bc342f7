"""What identifies one idempotent request: the key as sent, and a digest of its body.

The digest is taken as the body streams by, never holding it. A ``multipart/form-data``
body is digested by its parts (names, file names, content types and bytes), not its raw
bytes: a client that retries an upload encodes it again with a new random boundary (httpx,
and so the ``openai`` SDK, does), and that retry must still match the first request.
"""

from __future__ import annotations

import hashlib
import re

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from gateway.platform.errors import InvalidRequestError

__all__ = ["MAX_KEY_LENGTH", "BodyDigest", "check_key"]

MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,%d}" % MAX_KEY_LENGTH)  # noqa: UP031 - a regex bound


def check_key(value: str) -> str:
    """The ``Idempotency-Key`` header's value: 1-255 printable ASCII characters, else a 400."""
    if _PRINTABLE.fullmatch(value) is None:
        raise InvalidRequestError(
            f"the Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII "
            "characters (a UUID is a good key)",
            param="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    return value


class BodyDigest:
    """SHA-256 of a request body fed in pieces; ``complete`` once the last piece was fed."""

    def __init__(self, content_type: str | None) -> None:
        self._raw = hashlib.sha256()
        self._parts: _PartsDigest | None = None
        media, options = parse_options_header(content_type or "")
        boundary = options.get("boundary")
        if media == "multipart/form-data" and boundary:
            self._parts = _PartsDigest(boundary)
        self.complete = False

    def feed(self, piece: bytes, *, last: bool = False) -> None:
        self._raw.update(piece)
        if self._parts is not None and not self._parts.feed(piece, last=last):
            self._parts = None  # not well-formed multipart: the raw bytes identify it
        self.complete = last

    def digest(self) -> bytes:
        if self._parts is not None and self._parts.finished:
            return b"parts:" + self._parts.digest()
        return self._raw.digest()


class _PartsDigest:
    """The parts of a multipart body, each header field and each part's length framed."""

    def __init__(self, boundary: str) -> None:
        self._hash = hashlib.sha256()
        self._parser = PushMultipartParser(boundary)
        self._length = 0

    @property
    def finished(self) -> bool:
        return bool(self._parser.closed)

    def feed(self, piece: bytes, *, last: bool) -> bool:
        """False when the body is not well-formed multipart."""
        try:
            if piece and not self._parser.closed:  # (an epilogue after the end is no part)
                self._events(piece)
            if last and not self._parser.closed:
                self._events(b"")  # the end of the input: a body cut short is an error
        except MultipartError:
            return False
        return True

    def _events(self, piece: bytes) -> None:
        for event in self._parser.parse(piece):
            if isinstance(event, MultipartSegment):
                for field in (event.name, event.filename or "", event.content_type or ""):
                    self._framed(field.encode("utf-8", "surrogateescape"))
                self._length = 0
            elif event:
                self._hash.update(event)
                self._length += len(event)
            elif event is None:
                self._hash.update(self._length.to_bytes(8, "big"))

    def _framed(self, value: bytes) -> None:
        self._hash.update(len(value).to_bytes(4, "big"))
        self._hash.update(value)

    def digest(self) -> bytes:
        return self._hash.digest()

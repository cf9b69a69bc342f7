"""What identifies a request: the key as sent, and its body's digest taken piece by piece."""

from __future__ import annotations

import httpx
import pytest

from gateway.platform.errors import InvalidRequestError
from gateway.platform.idempotency import MAX_KEY_LENGTH, BodyDigest, check_key


def _digest(content_type: str | None, body: bytes, *, piece: int = 7) -> bytes:
    digest = BodyDigest(content_type)
    for start in range(0, len(body), piece):
        digest.feed(body[start : start + piece])
    digest.feed(b"", last=True)
    assert digest.complete
    return digest.digest()


def _upload(content: bytes, *, purpose: str = "assistants") -> tuple[str, bytes]:
    request = httpx.Request(
        "POST", "http://x/v1/files", files={"file": ("a.txt", content)}, data={"purpose": purpose}
    )
    return request.headers["content-type"], request.read()


def test_a_multipart_body_is_digested_by_its_parts_not_its_boundary() -> None:
    (type_a, body_a), (type_b, body_b) = _upload(b"same bytes"), _upload(b"same bytes")
    assert body_a != body_b  # httpx draws a new boundary for each request
    assert _digest(type_a, body_a) == _digest(type_b, body_b, piece=3)
    assert _digest(*_upload(b"other bytes")) != _digest(type_a, body_a)
    assert _digest(*_upload(b"same bytes", purpose="batch")) != _digest(type_a, body_a)


def test_a_body_that_is_not_well_formed_multipart_is_digested_raw() -> None:
    content_type, body = _upload(b"cut short")
    assert _digest(content_type, body[:-10]) != _digest(content_type, body)
    assert _digest(content_type, body[:-10]) == _digest(None, body[:-10])


def test_json_bodies_are_digested_as_sent() -> None:
    assert _digest("application/json", b'{"a": 1}') == _digest(None, b'{"a": 1}')
    assert _digest("application/json", b'{"a": 1}') != _digest(None, b'{"a": 2}')


@pytest.mark.parametrize(
    "value", ["a", "0f5c7e1a-8d5e-4f0e-9b1e-1c2d3e4f5a6b", "~" * MAX_KEY_LENGTH]
)
def test_printable_keys_up_to_255_characters_are_accepted(value: str) -> None:
    assert check_key(value) == value


@pytest.mark.parametrize("value", ["", "x" * (MAX_KEY_LENGTH + 1), "new\nline", "caf\u00e9"])
def test_other_keys_are_a_400(value: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_key(value)
    assert refused.value.code == "invalid_idempotency_key"

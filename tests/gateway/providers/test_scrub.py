"""What of an upstream's error body may leave the adapter: scrubbed, capped identifiers."""

from __future__ import annotations

import pytest

from gateway.providers._scrub import (
    MAX_DETAIL_CHARS,
    error_fields,
    identifier,
    known_secrets,
    scrub,
)

KEY = "Zq7-upstream-secret"


@pytest.mark.parametrize(
    "echo",
    [
        f"Authorization: Bearer {KEY}",
        f"{{'Authorization': 'Bearer {KEY}'}}",
        f'{{"authorization": "Bearer {KEY}"}}',
        f"x-api-key: {KEY}",
        f'"api-key": "{KEY}"',
        f"https://host/v1?api_key={KEY}&x=1",
        f"the key {KEY} is not valid",
    ],
)
def test_the_gateways_own_key_never_survives(echo: str) -> None:
    cleaned = scrub(f"denied: {echo}", known_secrets(KEY, []))
    assert KEY not in cleaned
    assert "upstream-secret" not in cleaned
    assert "[redacted]" in cleaned


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcDEF123456",
        "sk-ant-api03-abcdef123456",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
        "ghp_abcdefghijklmnopqrstuvwxyz012345",
        "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
        "0123456789abcdef0123456789abcdef",  # an Azure key: 32 hex characters
    ],
)
def test_anything_shaped_like_a_key_is_removed_without_knowing_it(secret: str) -> None:
    assert secret not in scrub(f"rejected {secret} here", [])


def test_bearer_and_basic_credentials_keep_only_their_scheme() -> None:
    assert scrub("got Bearer abc.def-ghi_123 and Basic dXNlcjpwYXNzd29yZA==") == (
        "got Bearer [redacted] and Basic [redacted]"
    )


def test_ordinary_messages_pass_unchanged() -> None:
    message = (
        "This model's maximum context length is 8192 tokens. However, your messages "
        "resulted in 9000 tokens. Please reduce the length of the messages. <EMAIL_ADDRESS_1>"
    )
    assert scrub(message) == message
    assert scrub("Invalid authorization header") == "Invalid authorization header"


def test_one_line_and_capped_after_scrubbing() -> None:
    text = scrub("a\r\nb\x1b[31m\tc " + "word " * 500 + KEY, [KEY])
    assert text.startswith("a b [31m c word")
    assert len(text) == MAX_DETAIL_CHARS
    assert text.endswith("…")
    # a secret straddling the cap is recognised whole before the text is cut
    straddling = "x" * (MAX_DETAIL_CHARS - 5) + " " + KEY
    assert "Zq7" not in scrub(straddling, [KEY])


def test_short_configured_values_are_not_replaced_everywhere() -> None:
    assert known_secrets("k", ["application/json", "v1"]) == ("application/json",)
    assert known_secrets(None, []) == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("context_length_exceeded", "context_length_exceeded"),
        ("messages[0].content", "messages[0].content"),
        ("has space", None),
        ("x" * 65, None),
        (400, None),
        ("sk-abcdef123456", None),
        (KEY, None),
    ],
)
def test_identifiers_are_short_and_clean(value: object, expected: str | None) -> None:
    assert identifier(value, [KEY]) == expected


def test_error_fields_read_every_common_shape() -> None:
    openai = error_fields(
        {
            "error": {
                "message": f"bad key {KEY}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
                "param": None,
            }
        },
        [KEY],
    )
    assert (openai.detail, openai.error_type, openai.code, openai.param) == (
        "bad key [redacted]",
        "invalid_request_error",
        "invalid_api_key",
        None,
    )
    vllm = error_fields({"object": "error", "message": "too long", "code": 400}, [])
    assert (vllm.detail, vllm.code) == ("too long", None)
    assert error_fields({"detail": "Not Found"}, []).detail == "Not Found"
    assert error_fields({"error": "plain"}, []).detail == "plain"
    assert error_fields(["not", "an", "object"], []).detail is None
    assert error_fields({"error": {"message": ""}}, []).detail is None

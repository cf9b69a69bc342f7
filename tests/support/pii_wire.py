"""What the PII tests of the API families check on the wire: raw values never reach an
upstream, placeholders do; the client gets the values back and no placeholder."""

from __future__ import annotations

__all__ = ["EMAIL", "PHONE", "PII", "RAW", "assert_masked", "assert_restored"]

EMAIL = "jane.doe@example.com"
PHONE = "212-555-0142"
PII = f"{EMAIL} {PHONE}"
RAW = (EMAIL, PHONE)


def assert_masked(bodies: list[str]) -> None:
    """Every upstream body (as JSON text) holds placeholders and none of the raw values."""
    for body in bodies:
        for value in RAW:
            assert value not in body
        assert "<EMAIL_ADDRESS_" in body
        assert "<PHONE_NUMBER_" in body


def assert_restored(text: str) -> None:
    """The client's text holds the raw values and no placeholder."""
    for value in RAW:
        assert value in text
    assert "<EMAIL_ADDRESS_" not in text
    assert "<PHONE_NUMBER_" not in text

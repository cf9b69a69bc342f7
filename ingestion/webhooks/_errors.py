"""Errors of the webhooks package (part of the ingestion exception tree)."""

from __future__ import annotations

from ingestion.errors import IngestionError

__all__ = ["TargetRefusedError"]


class TargetRefusedError(IngestionError):
    """A webhook URL that may not be delivered to: malformed, not http(s), with credentials,
    too long, unresolvable, or resolving to a non-public address (the SSRF guard).

    ``code`` says which: ``invalid_url``, ``unresolvable_host`` or ``private_target``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

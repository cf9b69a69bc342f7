"""The PII step's errors, already in the gateway's error tree (OpenAI's error shape)."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.platform.errors import GatewayError, InvalidRequestError

__all__ = ["PiiBlockedError", "PiiError", "PiiPolicyError", "PiiUncheckableError"]


class PiiError(GatewayError):
    """Base of the PII step's errors."""


class PiiBlockedError(PiiError, InvalidRequestError):
    """The request holds entity types its policy blocks. Names the types, never the values."""

    default_code = "pii_blocked"

    def __init__(self, entity_types: Iterable[str]) -> None:
        self.entity_types = tuple(sorted(set(entity_types)))
        super().__init__(
            "the request contains personal data that may not be sent to this model: "
            + ", ".join(self.entity_types)
        )


class PiiUncheckableError(PiiError, InvalidRequestError):
    """Input the PII step cannot read (token ids) while the policy needs to check it."""

    default_code = "pii_uncheckable"


class PiiPolicyError(PiiError):
    """An API key names a PII policy the configuration does not define (fails closed)."""

    default_code = "pii_policy_unknown"

"""Standard Webhooks signatures, as OpenAI signs its own deliveries.

A secret is ``whsec_`` and the base64 of 32 random bytes; a signature is
``v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`` keyed with the
decoded bytes. Several signatures (old and new secret during a rotation) are separated by
spaces; a receiver accepts the message if any matches (``openai``'s
``client.webhooks.unwrap`` does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

__all__ = ["SECRET_PREFIX", "new_secret", "secret_hint", "signature_header", "signed_headers"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
USER_AGENT = "ragway-webhooks/1.0"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_hint(secret: str) -> str:
    """Enough to tell secrets apart, too little to guess one: ``whsec_****abcd``."""
    return f"{SECRET_PREFIX}****{secret[-4:]}"


def _sign(secret: str, message: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def signature_header(keys: Iterable[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret in ``keys``."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return " ".join(_sign(key, message) for key in keys)


def signed_headers(
    keys: Iterable[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header of a delivery: the three Standard Webhooks ones and the content's."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(keys, webhook_id, timestamp, body),
    }

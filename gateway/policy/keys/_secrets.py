"""API key material: generation, hashing and what of a key may be shown."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

__all__ = [
    "KEY_PREFIX",
    "SUPPLIED_DISPLAY",
    "NewKey",
    "display_prefix",
    "hash_key",
    "key_label",
    "new_key",
]

KEY_PREFIX = "sk-rgw-"
# Stored in ``display_prefix`` for a key an operator chose (RAGWAY_ADMIN_KEY): nothing of a
# key whose length and alphabet we do not control is ever shown.
SUPPLIED_DISPLAY = "supplied"
# A generated key has 256 random bits (43 url-safe characters); showing 4 of them (24 bits)
# is enough to tell keys apart in a list and leaves 232 bits to guess.
_SHOWN_RANDOM_CHARS = 4


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: ``plaintext`` is shown once and never stored."""

    plaintext: str
    key_hash: bytes
    display_prefix: str


def hash_key(plaintext: str) -> bytes:
    """SHA-256 of the key: every key carries ≥ 128 bits of entropy, so a fast hash is safe."""
    return hashlib.sha256(plaintext.encode()).digest()


def display_prefix(plaintext: str) -> str:
    """What a list shows of a generated key: the marker and its first random characters."""
    return plaintext[: len(KEY_PREFIX) + _SHOWN_RANDOM_CHARS]


def key_label(prefix: str) -> str:
    """A stored ``display_prefix`` as a person reads it (``sk-rgw-AbCd...``, ``(supplied)``)."""
    return f"{prefix}..." if prefix.startswith(KEY_PREFIX) else f"({prefix})"


def new_key() -> NewKey:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(plaintext, hash_key(plaintext), display_prefix(plaintext))

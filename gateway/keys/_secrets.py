"""API key material: generation, hashing and the display prefix."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

__all__ = ["KEY_PREFIX", "NewKey", "display_prefix", "hash_key", "new_key"]

KEY_PREFIX = "sk-rgw-"
_DISPLAY_CHARS = len(KEY_PREFIX) + 6


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: ``plaintext`` is shown once and never stored."""

    plaintext: str
    key_hash: bytes
    display_prefix: str


def hash_key(plaintext: str) -> bytes:
    """SHA-256 of the key: keys carry 256 bits of entropy, so a fast hash is safe here."""
    return hashlib.sha256(plaintext.encode()).digest()


def display_prefix(plaintext: str) -> str:
    return plaintext[:_DISPLAY_CHARS]


def new_key() -> NewKey:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(plaintext, hash_key(plaintext), display_prefix(plaintext))

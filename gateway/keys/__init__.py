"""API keys: generation, hashing and the start-up admin key."""

from __future__ import annotations

from gateway.keys._bootstrap import BootstrapResult, ensure_admin_key
from gateway.keys._secrets import KEY_PREFIX, NewKey, display_prefix, hash_key, new_key

__all__ = [
    "KEY_PREFIX",
    "BootstrapResult",
    "NewKey",
    "display_prefix",
    "ensure_admin_key",
    "hash_key",
    "new_key",
]

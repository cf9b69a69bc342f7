"""Unguessable object ids in OpenAI's shapes (96 random bits each)."""

from __future__ import annotations

import secrets

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    """``file-…``, ``vs_…``, ``vsfb_…``: the prefix then 24 random hex characters."""
    return f"{prefix}{secrets.token_hex(12)}"

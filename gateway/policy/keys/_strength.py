"""How guessable an operator-supplied key is, and the rule it must meet.

A supplied key is stored as an unsalted SHA-256, so it must not be guessable. The estimate errs
low: ``length * log2(alphabet)``, the alphabet being the sum of the character classes used
(a-z 26, A-Z 26, 0-9 10, other 33) but at most the number of distinct characters; the
``sk-rgw-`` prefix is not counted. Keys under ``MIN_SUPPLIED_KEY_BITS`` are refused.
"""

from __future__ import annotations

import math
import string

from configs import SettingsError
from gateway.policy.keys._secrets import KEY_PREFIX

__all__ = ["MIN_SUPPLIED_KEY_BITS", "WeakKeyError", "check_supplied_key", "estimated_bits"]

MIN_SUPPLIED_KEY_BITS = 128
_CLASSES = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
)
_OTHER = 33  # printable ASCII punctuation and space
_HOW = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class WeakKeyError(SettingsError):
    """A supplied key is too easy to guess; the message names the rule and how to comply."""


def estimated_bits(key: str) -> float:
    """A low estimate of the key's entropy in bits (see the module docstring)."""
    body = key.removeprefix(KEY_PREFIX)
    chars = set(body)
    alphabet = sum(size for members, size in _CLASSES if chars & members)
    if any(not any(c in members for members, _ in _CLASSES) for c in chars):
        alphabet += _OTHER
    alphabet = min(alphabet, len(chars))
    return len(body) * math.log2(alphabet) if alphabet > 1 else 0.0


def check_supplied_key(key: str, *, source: str) -> None:
    """Refuse a key from ``source`` (e.g. ``RAGWAY_ADMIN_KEY``) with under 128 estimated bits."""
    bits = estimated_bits(key)
    if bits < MIN_SUPPLIED_KEY_BITS:
        raise WeakKeyError(
            f"{source} is too easy to guess: a supplied key needs at least "
            f"{MIN_SUPPLIED_KEY_BITS} bits of entropy, estimated as length * log2(alphabet) "
            "(alphabet: the character classes it uses, a-z 26, A-Z 26, 0-9 10, other 33, "
            f"but at most its number of different characters); this one has about {bits:.0f}. "
            f"Generate one with: {_HOW}"
        )

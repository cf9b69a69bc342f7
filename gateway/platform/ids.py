"""Unique ids without a system call each: a random prefix per process and a counter.

Request and quota window ids must be unique, not secret: 48 random bits per process (drawn
again in a forked child) and a 48-bit counter, instead of asking the kernel every time.
"""

from __future__ import annotations

import itertools
import os
import secrets

__all__ = ["unique_hex"]

_prefix = secrets.token_hex(6)
_counter = itertools.count()


def _reseed() -> None:
    global _prefix, _counter
    _prefix = secrets.token_hex(6)
    _counter = itertools.count()


os.register_at_fork(after_in_child=_reseed)


def unique_hex() -> str:
    """24 hex digits, unique across this host's processes (random prefix) and in time."""
    return f"{_prefix}{next(_counter) & 0xFFFFFFFFFFFF:012x}"

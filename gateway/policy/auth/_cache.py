"""The per-process cache of looked-up keys, kept coherent by key-change notifications.

Entries live ``ttl_s`` while the process is subscribed to key changes (a change drops the
entry at once; the TTL is only a backstop) and ``fallback_ttl_s`` while it is not, so a
revoked or changed key takes effect within ``fallback_ttl_s`` even with Redis down.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.policy.auth._principal import Principal

__all__ = ["KeyCache"]


class KeyCache:
    """Key hash -> Principal (or ``None`` for an unknown key), with a generation counter.

    A lookup that started before an invalidation must not store its (possibly stale) result:
    callers read ``generation`` before the lookup and pass it to ``put``.
    """

    def __init__(
        self,
        *,
        ttl_s: float,
        fallback_ttl_s: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._fallback_ttl_s = fallback_ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[float, Principal | None]] = {}
        self._live = False
        self.generation = 0

    @property
    def live(self) -> bool:
        """Whether changes are being delivered to this process right now."""
        return self._live

    def set_live(self, live: bool) -> None:
        """Entering or leaving live mode may have missed changes: start over either way."""
        if live != self._live:
            self._live = live
            self.clear()

    def get(self, digest: bytes) -> tuple[bool, Principal | None]:
        """``(True, principal)`` for a fresh entry (principal ``None``: unknown key)."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= self._clock():
            return False, None
        return True, entry[1]

    def put(self, digest: bytes, principal: Principal | None, generation: int) -> None:
        if generation != self.generation:
            return
        now = self._clock()
        if len(self._entries) >= self._max_entries:
            self._entries = {d: e for d, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
        ttl = self._ttl_s if self._live else self._fallback_ttl_s
        self._entries[digest] = (now + ttl, principal)

    def drop_key(self, key_id: str) -> None:
        self.generation += 1
        stale = [d for d, (_, p) in self._entries.items() if p is not None and p.key_id == key_id]
        for digest in stale:
            del self._entries[digest]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

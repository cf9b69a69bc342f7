"""A small thread-safe LRU map for analyses, and the key a whole text is remembered by.

Texts repeat across turns and requests (a conversation's history is sent again with every
turn), so the analyzer remembers both whole texts and the windows inside them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["LruCache", "text_key"]

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """Least-recently-used map of at most ``size`` entries; ``size`` 0 remembers nothing."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        if not self._size:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if not self._size:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def text_key(text: str) -> bytes:
    """A 128-bit digest of ``text``: a cache keyed by it holds no text, however long."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

"""What the fake OpenAI answers on ``/embeddings``: deterministic vectors (the same input, the
same vector), as floats or, for ``encoding_format: base64``, packed little-endian float32."""

from __future__ import annotations

import base64
import struct
from typing import Any

from tests.support._fake_prompt import words

__all__ = ["embeddings"]


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    items = body["input"]
    if isinstance(items, str) or (items and isinstance(items[0], int)):
        items = [items]
    dims = int(body.get("dimensions") or 8)
    data = []
    for index, item in enumerate(items):
        seed = len(str(item))
        vector = [round((seed + i) / (dims + seed), 6) for i in range(dims)]
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(words(str(item)) for item in items)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

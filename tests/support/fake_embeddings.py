"""A fake OpenAI-compatible embeddings server with fault modes, for embedder tests.

Real HTTP on loopback (Litestar + uvicorn in a thread). Vectors are deterministic, not
normalised, and returned in reverse index order, as a server may. ``script`` holds the
status codes to answer with before succeeding; every request is recorded.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post

__all__ = ["FakeEmbeddings"]


@dataclass
class FakeEmbeddings:
    dimension: int = 8
    script: list[int] = field(default_factory=list)  # statuses to answer first, in order
    extra_vectors: int = 0  # answer with this many vectors too many
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    @staticmethod
    def vector(text: str, dimension: int) -> list[float]:
        return [float(len(text) + i) for i in range(dimension)]

    def app(self) -> Litestar:
        @post("/v1/embeddings")
        async def embeddings(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            if self.script:
                status = self.script.pop(0)
                error = {"message": f"scripted {status}", "type": "x", "param": None, "code": None}
                return Response({"error": error}, status_code=status)
            texts = body["input"]
            encode = _base64 if body.get("encoding_format") == "base64" else list
            data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": encode(self.vector(t, self.dimension)),
                }
                for i, t in enumerate(texts + texts[: self.extra_vectors])
            ]
            usage = {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": 0}
            return Response(
                {"object": "list", "data": data[::-1], "model": body["model"], "usage": usage},
                status_code=200,
            )

        return Litestar(route_handlers=[embeddings], openapi_config=None)


def _base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")

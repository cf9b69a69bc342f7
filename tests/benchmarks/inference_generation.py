"""Generation throughput of the CPU server's engine, per device, with ratios in the same run.

``python -m tests.benchmarks.inference_generation [--devices cpu,cuda] [--sizes tiny,small,medium]``

For each model size (random weights, built on the fly: nothing is downloaded) and device it
measures one request alone (tokens/s, ms per token) and four concurrent requests advanced
in turn by the scheduler (aggregate tokens/s), and reports each figure against the first
device in the same run. Greedy output on every device is compared with the first device's.
Needs torch and transformers only, so it also runs on a bare GPU host.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from inference.generation import CausalModel, Generation, GenerationEvent, SamplingParams, Scheduler
from tests.support.tiny_model import build_tiny_model

SIZES = {
    "tiny": {"hidden_size": 64, "layers": 2},
    "small": {"hidden_size": 512, "layers": 8},
    "medium": {"hidden_size": 1024, "layers": 16},
}
PROMPT = [{"role": "user", "content": "Tell me about pgvector and local models."}]


def run(model: CausalModel, requests: int, tokens: int, temperature: float) -> tuple[float, str]:
    """Seconds for ``requests`` concurrent generations of ``tokens`` each; the first's text."""
    prompt = model.chat_prompt(PROMPT)
    done = threading.Semaphore(0)
    texts: list[list[str]] = [[] for _ in range(requests)]

    def sink_for(index: int) -> Callable[[GenerationEvent], None]:
        def sink(event: GenerationEvent) -> None:
            texts[index].append(event.text)
            if event.finish_reason is not None:
                assert event.error is None, event.error
                done.release()

        return sink

    scheduler = Scheduler(max_active=requests, max_queued=requests)
    params = SamplingParams(max_tokens=tokens, temperature=temperature, seed=1, ignore_eos=True)
    began = time.perf_counter()
    for index in range(requests):
        scheduler.submit(Generation(model, prompt, params, sink_for(index)))
    for _ in range(requests):
        done.acquire()
    elapsed = time.perf_counter() - began
    scheduler.close()
    return elapsed, "".join(texts[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--concurrent", type=int, default=4)
    args = parser.parse_args()
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    print(f"torch {torch.__version__}; devices {devices}", end="")
    if torch.cuda.is_available():
        print(f"; {torch.cuda.get_device_name(0)}", end="")
    print(f"; {torch.get_num_threads()} CPU threads")
    header = f"{'model':6} {'device':6} {'alone tok/s':>12} {'ms/tok':>7} {'x':>6}"
    header += f" {f'{args.concurrent} conc tok/s':>14} {'x':>6} {'greedy same':>11}"
    print(header)
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes.split(","):
            path = build_tiny_model(Path(folder) / size, **SIZES[size])
            base: dict[str, float] = {}
            reference = ""
            for device in devices:
                model = CausalModel(path, name=size, context_length=2048, device=device)
                run(model, 1, 8, 0.0)  # warm-up: kernels, allocator, caches
                alone_s, greedy = run(model, 1, args.tokens, 0.0)
                conc_s, _ = run(model, args.concurrent, args.tokens, 1.0)
                alone = args.tokens / alone_s
                conc = args.concurrent * args.tokens / conc_s
                base.setdefault("alone", alone)
                base.setdefault("conc", conc)
                reference = reference or greedy
                print(
                    f"{size:6} {device:6} {alone:12.1f} {1000 / alone:7.2f} "
                    f"{alone / base['alone']:6.2f} {conc:14.1f} {conc / base['conc']:6.2f} "
                    f"{greedy == reference!s:>11}",
                    flush=True,
                )
                del model


if __name__ == "__main__":
    main()

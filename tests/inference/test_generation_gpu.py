"""The CPU server's engine on a CUDA device gives the CPU's greedy output (GPU hosts only).

Imports only torch, transformers and the engine, so it runs on a bare GPU host with
``pytest --noconftest -m gpu tests/inference/test_generation_gpu.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from inference.generation import CausalModel, Generation, GenerationEvent, SamplingParams, Scheduler
from tests.support.tiny_model import build_tiny_model

pytestmark = pytest.mark.gpu


def generate(model: CausalModel, params: SamplingParams, requests: int = 1) -> list[str]:
    prompt = model.chat_prompt([{"role": "user", "content": "Hello from the GPU"}])
    done = threading.Semaphore(0)
    texts: list[list[str]] = [[] for _ in range(requests)]
    events: list[GenerationEvent] = []

    def sink_for(index: int) -> Callable[[GenerationEvent], None]:
        def sink(event: GenerationEvent) -> None:
            texts[index].append(event.text)
            if event.finish_reason is not None:
                events.append(event)
                done.release()

        return sink

    scheduler = Scheduler(max_active=requests, max_queued=0)
    for index in range(requests):
        scheduler.submit(Generation(model, prompt, params, sink_for(index)))
    for _ in range(requests):
        assert done.acquire(timeout=60)
    scheduler.close()
    assert all(e.error is None and e.finish_reason == "length" for e in events)
    assert all(e.completion_tokens == params.max_tokens for e in events)
    return ["".join(t) for t in texts]


def test_cuda_greedy_and_seeded_output_match_cpu(tmp_path: Path) -> None:
    import torch

    path = build_tiny_model(tmp_path / "tiny")
    cpu = CausalModel(path, name="tiny", context_length=2048, device="cpu")
    cuda = CausalModel(path, name="tiny", context_length=2048, device="cuda")
    assert next(cuda.model.parameters()).device.type == "cuda"
    greedy = SamplingParams(max_tokens=48, temperature=0.0, ignore_eos=True)
    assert generate(cuda, greedy) == generate(cpu, greedy)
    seeded = SamplingParams(max_tokens=48, temperature=0.7, seed=5, ignore_eos=True)
    on_gpu = generate(cuda, seeded, requests=3)
    assert on_gpu == generate(cpu, seeded, requests=3)
    assert len(set(on_gpu)) == 1  # same seed, same prompt: same text for every request
    torch.cuda.synchronize()

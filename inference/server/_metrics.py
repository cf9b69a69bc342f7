"""Prometheus metrics of the CPU server, in a registry of its own (no module globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from inference.generation import GenerationEvent, Scheduler

__all__ = ["ServerMetrics"]


class ServerMetrics:
    """Generations by finish reason, tokens, and the scheduler's active and waiting work."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.generations = Counter(
            "ragway_inference_generations",
            "Generations finished, by model and finish reason (cancelled: client gone).",
            ["model", "finish_reason"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "ragway_inference_tokens",
            "Tokens processed, by model and kind (prompt or completion).",
            ["model", "kind"],
            registry=self.registry,
        )
        self._active = Gauge(
            "ragway_inference_active_generations",
            "Generations being advanced now.",
            registry=self.registry,
        )
        self._waiting = Gauge(
            "ragway_inference_waiting_generations",
            "Generations queued for a turn.",
            registry=self.registry,
        )

    def watch(self, scheduler: Scheduler) -> None:
        self._active.set_function(lambda: scheduler.active)
        self._waiting.set_function(lambda: scheduler.waiting)

    def finished(self, model: str, event: GenerationEvent) -> None:
        self.generations.labels(model, event.finish_reason or "error").inc()
        self.tokens.labels(model, "prompt").inc(event.prompt_tokens)
        self.tokens.labels(model, "completion").inc(event.completion_tokens)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

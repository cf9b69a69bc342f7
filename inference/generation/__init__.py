"""Text generation with transformers: the model, sampling, per-request state and the scheduler.

Only torch and transformers are needed (no web framework), so this runs wherever they do.
"""

from __future__ import annotations

from inference.generation._generation import FinishReason, Generation, GenerationEvent
from inference.generation._model import CausalModel
from inference.generation._sampling import SamplingParams, sample_next
from inference.generation._scheduler import Scheduler, Steppable

__all__ = [
    "CausalModel",
    "FinishReason",
    "Generation",
    "GenerationEvent",
    "SamplingParams",
    "Scheduler",
    "Steppable",
    "sample_next",
]

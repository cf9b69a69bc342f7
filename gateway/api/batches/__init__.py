"""The Batch API (``/v1/batches``): requests from an uploaded JSONL file, run on workers
through the same policy as live requests, answered as output and error files."""

from __future__ import annotations

from gateway.api.batches._repository import (
    FINALIZE_ACTOR,
    PREPARE_ACTOR,
    RUN_ACTOR,
    BatchRepository,
)
from gateway.api.batches._runner import BatchRunner
from gateway.api.batches.controller import BatchesController
from gateway.api.batches.serving import BatchService

__all__ = [
    "FINALIZE_ACTOR",
    "PREPARE_ACTOR",
    "RUN_ACTOR",
    "BatchRepository",
    "BatchRunner",
    "BatchService",
    "BatchesController",
]

"""The model manifest: the committed description of every local model and how to serve it."""

from __future__ import annotations

from inference.manifest._load import load_manifest
from inference.manifest._models import Manifest, ModelEntry, VllmOptions

__all__ = ["Manifest", "ModelEntry", "VllmOptions", "load_manifest"]

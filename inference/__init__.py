"""Inference: local model serving (vLLM, a CPU fallback server) and embedders."""

from __future__ import annotations

from inference._process import die_with_parent

__all__ = ["die_with_parent"]

"""Inference: local model serving (vLLM, a CPU fallback server) and embedders."""

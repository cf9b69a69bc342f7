"""The precision a local model is loaded in: what was asked for, else float32 on a CPU.

``auto`` keeps the checkpoint's own dtype on a GPU, but on a CPU it loads float32: half
precision is slow on most CPUs (and transformers 5 would otherwise load a float16 checkpoint
as float16 wherever it runs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_dtype"]

_DTYPES = ("float16", "bfloat16", "float32")


def load_dtype(dtype: str, device: str) -> Any:
    """The ``dtype`` argument for ``from_pretrained``: a torch dtype, or ``"auto"``."""
    import torch

    if dtype in _DTYPES:
        return getattr(torch, dtype)
    if device == "cpu":
        return torch.float32
    return "auto"

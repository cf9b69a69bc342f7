"""A causal language model and its tokenizer, loaded with transformers from a local folder."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference._dtype import load_dtype
from inference.errors import InferenceError, RequestError

__all__ = ["CausalModel"]


class CausalModel:
    """Prefill and one-token decode steps over a KV cache; chat templates; (de)tokenizing.

    torch and transformers are imported when a model is built, never at import time. Steps of
    different requests may interleave: each keeps its own cache.
    """

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        context_length: int,
        device: str = "cpu",
        dtype: str = "auto",
        chat_template: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not (Path(path) / "config.json").is_file():
            raise InferenceError(f"model {name!r}: no config.json in {path}")
        self._torch = torch
        self.name = name
        self.device = device
        self.context_length = context_length
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            str(path), local_files_only=True, dtype=load_dtype(dtype, device)
        )
        self.model: Any = loaded.to(device)
        self.model.eval()
        # transformers renamed ``past_key_values`` to ``cache`` in 5.2x; accept either release.
        parameters = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in parameters else "past_key_values"
        self._chat_template = chat_template
        self.eos_token_ids = self._eos_ids()
        self._lock = threading.Lock()  # steps come from one scheduler thread; this guards misuse

    def _eos_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        if isinstance(configured, int):
            ids.add(configured)
        elif isinstance(configured, Sequence):
            ids.update(int(i) for i in configured)
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return frozenset(ids)

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)

    def chat_prompt(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        """Token ids of ``messages`` rendered with the model's chat template, ready to answer."""
        template = self._chat_template or self.tokenizer.chat_template
        if not template:
            raise RequestError(
                f"model {self.name!r} has no chat template: use /v1/completions, or give "
                "the manifest entry a vllm.chat_template file",
                param="messages",
            )
        from jinja2 import TemplateError

        try:
            text = self.tokenizer.apply_chat_template(
                list(messages), chat_template=template, add_generation_prompt=True, tokenize=False
            )
        except (TemplateError, ValueError, TypeError, KeyError) as exc:
            raise RequestError(f"the chat template rejected the messages: {exc}") from exc
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of a plain prompt, with the tokenizer's BOS where it adds one."""
        ids: list[int] = self.tokenizer(text)["input_ids"]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        text: str = self.tokenizer.decode(list(ids), skip_special_tokens=True)
        return text

    def forward(self, ids: Sequence[int], cache: Any) -> tuple[Any, Any]:
        """Logits for the token after ``ids`` (appended to ``cache``), and the new cache."""
        torch = self._torch
        with self._lock, torch.inference_mode():
            inputs = torch.tensor([list(ids)], device=self.device)
            out = self.model(input_ids=inputs, use_cache=True, **{self._cache_arg: cache})
            return out.logits[0, -1], out[self._cache_arg]

    def new_generator(self, seed: int | None) -> Any:
        """A CPU random generator: seeded, so equal seeds give equal samples on any device."""
        generator = self._torch.Generator(device="cpu")
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        return generator

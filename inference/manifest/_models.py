"""The shape of ``models/manifest.yaml``: one entry per local model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Manifest", "ModelEntry", "VllmOptions"]

Dtype = Literal["auto", "float16", "bfloat16", "float32"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VllmOptions(_Strict):
    """The vLLM serving options that matter; each maps to one ``vllm serve`` flag."""

    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    max_model_len: int | None = Field(default=None, ge=16)
    tool_call_parser: str | None = Field(
        default=None, min_length=1, description="enables automatic tool choice with this parser"
    )
    chat_template: Path | None = Field(
        default=None, description="Jinja file, relative to the manifest; None: the model's own"
    )
    enable_prefix_caching: bool = True
    extra_args: tuple[str, ...] = Field(
        default=(), description="further vllm serve flags, verbatim, for this model only"
    )


class ModelEntry(_Strict):
    """One local model: what clients call it, where its weights are and how to serve it."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    path: Path = Field(description="weights folder, relative to the manifest's folder")
    task: Literal["generate", "embed"]
    context_length: int = Field(ge=16, description="tokens of prompt plus completion")
    dtype: Dtype = "auto"
    quantization: str | None = Field(default=None, min_length=1, description="awq, gptq, fp8...")
    vllm: VllmOptions = VllmOptions()

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        limit = self.vllm.max_model_len
        if limit is not None and limit > self.context_length:
            raise ValueError(
                f"vllm.max_model_len ({limit}) exceeds context_length ({self.context_length})"
            )
        if self.task == "embed" and self.vllm.tool_call_parser is not None:
            raise ValueError("vllm.tool_call_parser applies to generate models only")
        return self

    @property
    def max_len(self) -> int:
        """Tokens one sequence may hold when served: vLLM's max_model_len or the context."""
        return self.vllm.max_model_len or self.context_length


class Manifest(_Strict):
    """The committed list of local models; paths inside are resolved against ``root``."""

    models: tuple[ModelEntry, ...]
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> Manifest:
        if not self.models:
            raise ValueError("'models' lists no model")
        seen: set[str] = set()
        for entry in self.models:
            if entry.name in seen:
                raise ValueError(f"model name {entry.name!r} is listed twice")
            seen.add(entry.name)
        return self

    def get(self, name: str) -> ModelEntry:
        """The entry called ``name``; KeyError if there is none."""
        for entry in self.models:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def weights(self, entry: ModelEntry) -> Path:
        """Absolute path of an entry's weights folder."""
        return (self.root / entry.path).resolve()

    def chat_template(self, entry: ModelEntry) -> Path | None:
        """Absolute path of an entry's chat template file, if it names one."""
        template = entry.vllm.chat_template
        return None if template is None else (self.root / template).resolve()

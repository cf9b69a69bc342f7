"""The ``vllm serve`` command line for one manifest model."""

from __future__ import annotations

import os
from collections.abc import Mapping

from configs import VllmSettings
from inference.errors import BackendError
from inference.manifest import Manifest, ModelEntry

__all__ = ["choose_model", "vllm_command", "vllm_env"]

# vLLM must never reach for the Hugging Face hub or send usage statistics.
_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def choose_model(manifest: Manifest, name: str | None) -> ModelEntry:
    """The entry to serve: ``name``, or the only one the manifest lists."""
    if name is not None:
        try:
            return manifest.get(name)
        except KeyError:
            known = ", ".join(entry.name for entry in manifest.models)
            message = f"model {name!r} is not in the manifest (it lists: {known})"
            raise BackendError(message) from None
    if len(manifest.models) == 1:
        return manifest.models[0]
    known = ", ".join(entry.name for entry in manifest.models)
    raise BackendError(
        f"the manifest lists several models ({known}): choose one with --model "
        "or inference.vllm.model (one vLLM process serves one model)"
    )


def vllm_command(manifest: Manifest, entry: ModelEntry, settings: VllmSettings) -> list[str]:
    """``vllm serve`` with every option the manifest and settings give, in a fixed order."""
    options = entry.vllm
    argv = [
        settings.executable,
        "serve",
        str(manifest.weights(entry)),
        "--served-model-name",
        entry.name,
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--dtype",
        entry.dtype,
        "--max-model-len",
        str(entry.max_len),
        "--tensor-parallel-size",
        str(options.tensor_parallel_size),
        "--gpu-memory-utilization",
        str(options.gpu_memory_utilization),
    ]
    if entry.quantization is not None:
        argv += ["--quantization", entry.quantization]
    if options.max_num_seqs is not None:
        argv += ["--max-num-seqs", str(options.max_num_seqs)]
    if entry.task == "embed":
        argv += ["--runner", "pooling"]
    if options.tool_call_parser is not None:
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", options.tool_call_parser]
    template = manifest.chat_template(entry)
    if template is not None:
        argv += ["--chat-template", str(template)]
    argv.append(
        "--enable-prefix-caching" if options.enable_prefix_caching else "--no-enable-prefix-caching"
    )
    return [*argv, *options.extra_args, *settings.extra_args]


def vllm_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours, with everything that would call home switched off."""
    env = dict(os.environ if base is None else base)
    for name, value in _OFFLINE_ENV.items():
        env.setdefault(name, value)
    return env

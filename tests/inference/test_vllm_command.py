"""The ``vllm serve`` command line built from manifest entries and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from configs import VllmSettings
from inference.errors import BackendError
from inference.manifest import load_manifest
from inference.vllm import choose_model, vllm_command

MANIFEST = """
models:
  - name: chat-model
    path: weights/chat
    task: generate
    context_length: 32768
    dtype: bfloat16
    quantization: awq
    vllm:
      tensor_parallel_size: 2
      gpu_memory_utilization: 0.85
      max_num_seqs: 128
      max_model_len: 16384
      tool_call_parser: hermes
      chat_template: templates/chat.jinja
      enable_prefix_caching: true
      extra_args: [--enforce-eager]
  - name: embed-model
    path: weights/embed
    task: embed
    context_length: 512
    vllm:
      enable_prefix_caching: false
"""


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST)
    return path


def test_generate_model_command(manifest_path: Path) -> None:
    manifest = load_manifest(manifest_path, check_files=False)
    settings = VllmSettings(executable="/opt/vllm/bin/vllm", port=8123, extra_args=("--seed", "1"))
    root = manifest_path.parent.resolve()
    assert vllm_command(manifest, manifest.get("chat-model"), settings) == [
        "/opt/vllm/bin/vllm", "serve", str(root / "weights/chat"),
        "--served-model-name", "chat-model",
        "--host", "127.0.0.1", "--port", "8123",
        "--dtype", "bfloat16",
        "--max-model-len", "16384",
        "--tensor-parallel-size", "2",
        "--gpu-memory-utilization", "0.85",
        "--quantization", "awq",
        "--max-num-seqs", "128",
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
        "--chat-template", str(root / "templates/chat.jinja"),
        "--enable-prefix-caching",
        "--enforce-eager",
        "--seed", "1",
    ]  # fmt: skip


def test_embed_model_command(manifest_path: Path) -> None:
    manifest = load_manifest(manifest_path, check_files=False)
    argv = vllm_command(manifest, manifest.get("embed-model"), VllmSettings())
    assert argv[:3] == ["vllm", "serve", str(manifest_path.parent.resolve() / "weights/embed")]
    assert argv[argv.index("--max-model-len") + 1] == "512"  # context length when no max given
    assert argv[argv.index("--dtype") + 1] == "auto"
    assert argv[argv.index("--runner") : argv.index("--runner") + 2] == ["--runner", "pooling"]
    assert argv[-1] == "--no-enable-prefix-caching"
    assert "--tool-call-parser" not in argv
    assert "--quantization" not in argv


def test_choose_model(manifest_path: Path) -> None:
    manifest = load_manifest(manifest_path, check_files=False)
    assert choose_model(manifest, "embed-model").name == "embed-model"
    with pytest.raises(BackendError, match=r"several models \(chat-model, embed-model\)"):
        choose_model(manifest, None)
    with pytest.raises(BackendError, match="'nope' is not in the manifest"):
        choose_model(manifest, "nope")

"""A tiny random-weight model and the all-MiniLM embedder, served by the CPU server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from configs import CpuServerSettings, InferenceSettings
from inference.embedders import default_model_path
from tests.support.servers import ServerThread
from tests.support.tiny_model import build_tiny_model

CHAT_MODEL = "tiny-chat"
EMBED_MODEL = "minilm"
CONTEXT = 2048


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-chat", context_length=CONTEXT)


@pytest.fixture(scope="session")
def inference_manifest(tiny_model_dir: Path) -> Path:
    path = tiny_model_dir.parent / "manifest.yaml"
    path.write_text(
        "models:\n"
        f"  - {{name: {CHAT_MODEL}, path: tiny-chat, task: generate, context_length: {CONTEXT}}}\n"
        f"  - {{name: {EMBED_MODEL}, path: '{default_model_path()}', task: embed,"
        " context_length: 512, vllm: {max_model_len: 256}}\n"
    )
    return path


@pytest.fixture(scope="session")
def cpu_server(inference_manifest: Path) -> Iterator[str]:
    """The CPU server on a free port: base URL up to and including /v1."""
    from inference.server import build_cpu_app

    settings = InferenceSettings(
        manifest=inference_manifest, cpu=CpuServerSettings(max_active=2, max_queued=2)
    )
    with ServerThread(build_cpu_app(settings)) as server:
        yield f"{server.base_url}/v1"

"""``ragway inference serve --backend cpu`` as a real process, driven with the openai client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import openai

from tests.inference.conftest import CHAT_MODEL
from tests.support.net import free_port
from tests.support.servers import start_process


def test_cpu_backend_serves_the_chosen_manifest_models(inference_manifest: Path) -> None:
    port = free_port()
    env = {
        "RAGWAY_INFERENCE__MANIFEST": str(inference_manifest),
        "RAGWAY_INFERENCE__CPU__MODELS": f'["{CHAT_MODEL}"]',
        "RAGWAY_INFERENCE__CPU__TORCH_THREADS": "1",
        "RAGWAY_CONFIG": "",
        "RAGWAY_LOGGING__LEVEL": "WARNING",
    }
    process = start_process(
        ["inference", "serve", "--backend", "cpu", "--port", str(port)],
        env,
        ready_url=f"http://127.0.0.1:{port}/health",
        timeout_s=120,
    )
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        assert [m.id for m in client.models.list()] == [CHAT_MODEL]
        response = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=3,
            extra_body={"ignore_eos": True},
        )
        assert response.usage is not None
        assert response.usage.completion_tokens == 3
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)


def test_cpu_backend_refuses_unknown_models(inference_manifest: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "inference", "serve", "--backend", "cpu"],
        env={
            **os.environ,
            "RAGWAY_INFERENCE__MANIFEST": str(inference_manifest),
            "RAGWAY_INFERENCE__CPU__MODELS": '["absent"]',
            "RAGWAY_CONFIG": "",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "inference.cpu.models names models not in the manifest: ['absent']" in result.stderr

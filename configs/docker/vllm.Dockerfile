# vLLM's official image plus ragway's supervisor (inference/ and configs/ only: pydantic,
# PyYAML and httpx, which the image already has). vLLM keeps its own torch.
# Build context: the repository root (docker-compose.gpu.yml sets it).
ARG VLLM_IMAGE=vllm/vllm-openai:v0.33.0
FROM ${VLLM_IMAGE}

ENV PYTHONPATH=/opt/ragway \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    VLLM_NO_USAGE_STATS=1 \
    DO_NOT_TRACK=1

COPY configs /opt/ragway/configs
COPY inference /opt/ragway/inference

# `python -m inference.vllm` builds `vllm serve` from /models/manifest.yaml, supervises it
# (health, restarts with backoff) and forwards SIGTERM for a graceful stop.
ENTRYPOINT ["python3", "-m", "inference.vllm"]

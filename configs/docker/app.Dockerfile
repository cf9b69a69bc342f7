# The ragway application image: gateway and ingestion workers (CPU only; vLLM has its own).
# Build context: the repository root (docker-compose.gpu.yml sets it).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DO_NOT_TRACK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 poppler-utils curl \
       tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY configs ./configs
COPY gateway ./gateway
COPY ingestion ./ingestion
COPY inference ./inference

# CPU torch first and pinned for every later install (see configs/constraints.txt); the
# CUDA torchvision that unstructured[pdf] drags in breaks CPU torch and is not needed.
# A GPU worker's image (deploy/k8s/overlays/gpu: ragway-app-cuda) takes torch from a CUDA
# wheel index instead: --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url ${TORCH_INDEX_URL} torch==2.13.0 \
    && pip install -c configs/constraints.txt . \
    && pip uninstall -y torchvision

RUN useradd --create-home --uid 10001 ragway && mkdir -p /data && chown ragway /data
USER ragway
EXPOSE 8080 9191
CMD ["ragway", "gateway"]

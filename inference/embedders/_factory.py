"""Build the configured embedder: the one place the ``kind`` discriminator is read."""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from configs import EmbedderSettings, LocalEmbedderSettings
from inference.embedders._base import Embedder, EmbeddingError
from inference.embedders._local import LocalEmbedder
from inference.embedders._remote import RemoteEmbedder

__all__ = ["SHARED_BASE_URL", "build_embedder"]

# The host part is never dialled: requests go through the Unix socket.
SHARED_BASE_URL = "http://ragway-embedder/v1"


def build_embedder(
    settings: EmbedderSettings,
    *,
    env: Mapping[str, str] | None = None,
    http: httpx.Client | None = None,
) -> Embedder:
    """A local or remote embedder as ``settings.kind`` says. Loads the model or asks the
    remote server for its dimension, so a bad configuration fails at start."""
    if isinstance(settings, LocalEmbedderSettings):
        if settings.shared_socket is not None:
            # The model runs once per host, in `ragway embedder`; this process only asks it.
            return RemoteEmbedder(
                base_url=SHARED_BASE_URL,
                model=settings.model_name,
                batch_size=settings.batch_size,
                socket=settings.shared_socket,
                encoding_format="base64",  # a quarter of the bytes, no float parsing
                http=http,
            )
        return LocalEmbedder(
            settings.model_path,
            model_name=settings.model_name,
            batch_size=settings.batch_size,
            max_length=settings.max_length,
            device=settings.device,
            dtype=settings.dtype,
        )
    environ = os.environ if env is None else env
    api_key = None
    if settings.api_key_env is not None:
        api_key = environ.get(settings.api_key_env)
        if not api_key:
            raise EmbeddingError(
                f"inference.embedder.api_key_env names {settings.api_key_env}, which is not set"
            )
    return RemoteEmbedder(
        base_url=settings.base_url,
        model=settings.model,
        api_key=api_key,
        dimension=settings.dimension,
        batch_size=settings.batch_size,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        http=http,
    )

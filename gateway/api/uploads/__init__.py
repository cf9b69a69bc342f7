"""OpenAI's Uploads API (``/v1/uploads``): a large file sent in parts, completed into a File."""

from __future__ import annotations

from gateway.api.uploads._repository import UploadRepository
from gateway.api.uploads._sweep import UploadSweeper
from gateway.api.uploads.controller import UploadsController
from gateway.api.uploads.serving import UploadService

__all__ = ["UploadRepository", "UploadService", "UploadSweeper", "UploadsController"]

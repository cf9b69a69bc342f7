"""Settings of OpenAI's Uploads API (``/v1/uploads``): a large file sent in parts."""

from __future__ import annotations

from pydantic import Field

from configs._strict import Strict

__all__ = ["UploadSettings"]


class UploadSettings(Strict):
    """An upload gathers parts (each at most 64 MiB, OpenAI's limit) until it is completed
    into a File, cancelled, or expires; its parts wait in object storage meanwhile."""

    max_bytes: int = Field(
        default=8 * 1024**3, ge=1, description="the largest file an upload may declare"
    )
    expires_after_s: int = Field(
        default=3600,
        ge=1,
        le=7 * 24 * 3600,
        description="an upload not completed this long after its creation expires (OpenAI: "
        "an hour); its parts are removed",
    )
    sweep_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="how often each gateway process removes the parts of expired uploads",
    )
    keep_ended_s: int = Field(
        default=24 * 3600,
        ge=0,
        description="an upload's row is kept this long after it expired (completed, "
        "cancelled or expired), then deleted",
    )

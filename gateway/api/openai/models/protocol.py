"""Wire models of ``GET /v1/models`` and ``GET /v1/models/{id}``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from msgspec import Struct

__all__ = ["AnthropicModel", "AnthropicModelList", "Model", "ModelList", "anthropic_model", "anthropic_models"]


class Model(Struct):
    id: str
    created: int
    owned_by: str
    object: Literal["model"] = "model"


class ModelList(Struct):
    data: list[Model]
    object: Literal["list"] = "list"


class AnthropicModel(Struct):
    """A model as Anthropic's ``GET /v1/models`` shows it (what the anthropic SDK parses)."""

    id: str
    display_name: str
    created_at: str  # RFC 3339
    type: Literal["model"] = "model"


class AnthropicModelList(Struct):
    data: list[AnthropicModel]
    has_more: bool
    first_id: str | None
    last_id: str | None


def anthropic_model(model: Model) -> AnthropicModel:
    created = datetime.fromtimestamp(model.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return AnthropicModel(id=model.id, display_name=model.id, created_at=created)


def anthropic_models(models: ModelList) -> AnthropicModelList:
    data = [anthropic_model(model) for model in models.data]
    return AnthropicModelList(
        data=data,
        has_more=False,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
    )

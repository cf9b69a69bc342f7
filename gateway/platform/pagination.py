"""OpenAI cursor pagination as a Litestar dependency (limit, order, after, before)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar.di import Provide
from litestar.params import FromQuery, QueryParameter

from gateway.platform.errors import InvalidRequestError
from ingestion.collections import Page, PageRequest

__all__ = ["list_object", "page_dependency"]


def _page_request(
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    order: FromQuery[Literal["asc", "desc"]] = "desc",
    after: FromQuery[str | None] = None,
    before: FromQuery[str | None] = None,
) -> PageRequest:
    if after is not None and before is not None:
        raise InvalidRequestError("give 'after' or 'before', not both", param="before")
    return PageRequest(limit=limit, order=order, after=after, before=before)


def page_dependency() -> Provide:
    """Register as ``dependencies={"page": page_dependency()}`` on a controller."""
    return Provide(_page_request, sync_to_thread=False)


def list_object(data: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
    """OpenAI's list envelope with cursor ids."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.has_more,
    }

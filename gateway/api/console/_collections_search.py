"""``/console/collections/{id}/search``: try a query against one store, as the API would run it.

The form is a GET (a search changes nothing, and its address can be shared); its fields
become the API's ``SearchBody`` and go through ``SearchService.search``, so the grant check,
the filter syntax and the ranking are the API's own. A form the API would refuse is shown
again with the API's reason, never as a server error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from pydantic import ValidationError

from gateway.api.console._collections_view import validation_message
from gateway.api.console._render import page
from gateway.api.console._user import ConsoleUser, console_services
from gateway.api.vector_stores.protocol import SearchBody
from gateway.platform.errors import InvalidRequestError

__all__ = ["SearchForm", "routes"]


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The playground's fields as typed (strings), shown again with the results.

    No ``rewrite_query`` control: the gateway's search takes the query as written (the API
    accepts the flag and ignores it), and a switch that changes nothing would mislead.
    """

    query: str = ""
    max_num_results: str = "10"
    score_threshold: str = "0"
    filters: str = ""

    def body(self) -> SearchBody:
        """The API's request body, or ``InvalidRequestError`` saying what is wrong."""
        filters: Any = None
        if self.filters.strip():
            try:
                filters = json.loads(self.filters)
            except json.JSONDecodeError as exc:
                raise InvalidRequestError(
                    f"filters: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                    param="filters",
                ) from exc
        try:
            threshold = float(self.score_threshold or "0")
        except ValueError as exc:
            raise InvalidRequestError(
                "score_threshold must be a number from 0 to 1", param="score_threshold"
            ) from exc
        try:
            return SearchBody.model_validate(
                {
                    "query": self.query,
                    "max_num_results": self.max_num_results or "10",
                    "ranking_options": {"score_threshold": threshold},
                    "filters": filters,
                }
            )
        except ValidationError as exc:
            raise InvalidRequestError(validation_message(exc)) from exc


@dataclass(frozen=True, slots=True)
class Result:
    rank: int
    score: float
    filename: str
    file_id: str
    page_number: int | None
    section: str | None
    text: str


def _results(answer: dict[str, Any]) -> list[Result]:
    results = []
    for rank, hit in enumerate(answer["data"], start=1):
        where = hit.get("ragway") or {}
        text = "\n".join(part["text"] for part in hit["content"] if part.get("type") == "text")
        results.append(
            Result(
                rank=rank,
                score=float(hit["score"]),
                filename=hit["filename"],
                file_id=hit["file_id"],
                page_number=where.get("page_number"),
                section=where.get("section"),
                text=text,
            )
        )
    return results


class CollectionSearchController(Controller):
    path = "/collections/{store_id:str}/search"
    include_in_schema = False

    @get("/", cache=False)
    async def search(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
        q: FromQuery[str | None] = None,
        max_num_results: FromQuery[str] = "10",
        score_threshold: FromQuery[str] = "0",
        filters: FromQuery[str] = "",
    ) -> Template:
        collections = console_services(request).collections
        store = await collections.vector_stores.get(user.principal, store_id)
        form = SearchForm(
            query=q or "",
            max_num_results=max_num_results,
            score_threshold=score_threshold,
            filters=filters,
        )
        error, results, status = "", None, 200
        if q is not None:
            try:
                answer = await collections.search.search(user.principal, store_id, form.body())
                results = _results(answer)
            except InvalidRequestError as exc:
                error, status = exc.message, 400
        return page(
            "collections_search.html",
            user,
            nav="collections",
            status_code=status,
            store=store,
            form=form,
            error=error,
            results=results,
        )


def routes() -> list[Any]:
    return [CollectionSearchController]

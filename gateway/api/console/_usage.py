"""``/console/usage``: usage and spend over a date range, and its CSV export.

Admins see every key; a member sees their own keys only (the scope is applied where the
usage is read, see ``_usage_data.read_usage``).
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Template

from gateway.api.console._keys_scope import scope_of
from gateway.api.console._render import HEADERS, page
from gateway.api.console._reports import usage_csv
from gateway.api.console._usage_data import ALL_GROUPS, read_usage, roll_up
from gateway.api.console._usage_view import UsageFilters, parse_filters, usage_view
from gateway.api.console._user import ConsoleUser, console_services
from gateway.platform.errors import InvalidRequestError
from gateway.policy.usage import GroupBy

__all__ = ["UsageController", "routes"]


def _groups(text: str) -> tuple[GroupBy, ...]:
    groups = tuple(g.strip() for g in text.split(",") if g.strip())
    unknown = [g for g in groups if g not in ALL_GROUPS]
    if unknown or not groups:
        raise InvalidRequestError(
            "group_by: use one or more of key, model, day (comma separated)", param="group_by"
        )
    return cast(tuple[GroupBy, ...], tuple(g for g in ALL_GROUPS if g in groups))


async def _filters(
    start: FromQuery[str] = "",
    end: FromQuery[str] = "",
    key: FromQuery[str] = "",
    model: FromQuery[str] = "",
) -> UsageFilters:
    """The usage form's query: date range (default this month), key and model."""
    return parse_filters(start, end, key, model)


class UsageController(Controller):
    path = "/"
    include_in_schema = False
    dependencies = {"filters": Provide(_filters)}

    @get("/usage", cache=False)
    async def usage(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[ConsoleUser],
        filters: NamedDependency[UsageFilters],
    ) -> Template:
        view = await usage_view(console_services(request), user, filters)
        return page("usage.html", user, nav="usage", view=view)

    @get("/usage.csv", cache=False)
    async def usage_export(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[ConsoleUser],
        filters: NamedDependency[UsageFilters],
        group_by: FromQuery[str] = "key,model,day",
    ) -> Response[str]:
        groups = _groups(group_by)
        services = console_services(request)
        rows = await read_usage(
            services.usage,
            filters.period,
            await scope_of(services.keys, user),
            key_id=filters.key_id,
            model=filters.model,
        )
        period = filters.period
        name = f"usage-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        return Response(
            usage_csv(roll_up(rows, groups), groups),
            media_type="text/csv; charset=utf-8",
            headers={**HEADERS, "content-disposition": f'attachment; filename="{name}"'},
        )


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [UsageController]

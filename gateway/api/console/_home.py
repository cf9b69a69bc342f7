"""``/console/``: the overview a user lands on after signing in.

An admin sees today's and this month's totals, how many keys are active and who spends
most; a member sees each of their own keys with its limits and what is left.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from gateway.api.console._render import page
from gateway.api.console._usage_overview import admin_overview, member_overview
from gateway.api.console._user import ConsoleUser, console_services

__all__ = ["HomeController", "routes"]


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", cache=False)
    async def overview(
        self, request: Request[Any, Any, Any], user: NamedDependency[ConsoleUser]
    ) -> Template:
        services = console_services(request)
        if user.is_admin:
            return page("home.html", user, nav="home", admin=await admin_overview(services))
        return page(
            "home.html", user, nav="home", admin=None, mine=await member_overview(services, user)
        )


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [HomeController]

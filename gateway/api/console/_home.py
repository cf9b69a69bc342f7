"""``/console/``: the overview a user lands on after signing in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import Template

from gateway.api.console._render import page
from gateway.api.console._user import ConsoleUser

__all__ = ["routes"]


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", cache=False)
    async def overview(self, user: NamedDependency[ConsoleUser]) -> Template:
        return page("home.html", user, nav="home")


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [HomeController]

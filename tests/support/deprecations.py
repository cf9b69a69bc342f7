"""The ``LitestarDeprecationWarning``s an app emits while it is built, and which handlers they name.

Litestar 2.25 warns about handler signatures that Litestar 3 will reject (inferred dependencies,
inferred query/path parameters, ``data`` without a body marker). Each message starts with
``[paths='...', handler='...']``: the handler's own name and paths, not the module it lives in.
``deprecations_while_building`` maps that context back to the registered handlers (as
``module.qualname``) so that a test can hold one area to the rule while others are unfinished.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from litestar import Litestar
from litestar.exceptions import LitestarDeprecationWarning
from litestar.handlers import BaseRouteHandler
from litestar.routes import HTTPRoute

__all__ = ["Deprecation", "deprecations_while_building"]

_CONTEXT = re.compile(r"^\[paths='(?P<paths>[^']*)', handler='(?P<handler>[^']*)'")


@dataclass(frozen=True, slots=True)
class Deprecation:
    message: str
    handlers: frozenset[str]
    """``module.qualname`` of every registered handler with the name and paths the message
    names (two handlers in different controllers may share both); empty when it names none."""

    def about_any(self, prefixes: tuple[str, ...]) -> bool:
        """Whether one of the handlers it may be about lives under one of these module prefixes."""
        return any(h == p or h.startswith(f"{p}.") for h in self.handlers for p in prefixes)


def deprecations_while_building(
    build: Callable[[], Litestar],
) -> tuple[Litestar, list[Deprecation]]:
    """Build the app; return it and the Litestar deprecation warnings that building it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LitestarDeprecationWarning)
        app = build()
    index: dict[tuple[str, str], set[str]] = {}
    for handler in _handlers(app):
        key = (handler.name or handler.handler_name, ",".join(sorted(handler.paths)))
        index.setdefault(key, set()).add(str(handler))
    found: list[Deprecation] = []
    for warning in caught:
        if not issubclass(warning.category, LitestarDeprecationWarning):
            continue
        message = str(warning.message)
        context = _CONTEXT.match(message)
        named = index.get((context["handler"], context["paths"]), set()) if context else set()
        found.append(Deprecation(message, frozenset(named)))
    return app, found


def _handlers(app: Litestar) -> list[BaseRouteHandler]:
    handlers: list[BaseRouteHandler] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            handlers.extend(route.route_handlers)
        else:
            handlers.append(route.route_handler)
    return handlers

"""The admin console at ``/console``: server-rendered pages over the gateway's own services.

Sign-in with an API key opens a server-side session (``_session``); admins see and change
everything, members their own keys' usage and the collections they may read (``_user``).
Pages are Jinja templates (``templates/``) with htmx (vendored in ``static/vendor``).
"""

from __future__ import annotations

from gateway.api.console._render import template_config
from gateway.api.console._router import console_router
from gateway.api.console._services import ConsoleServices
from gateway.api.console._session import SessionStore
from gateway.api.console._user import ConsoleUser

__all__ = [
    "ConsoleServices",
    "ConsoleUser",
    "SessionStore",
    "console_router",
    "template_config",
]

"""Settings of the admin console served at ``/console``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from configs._strict import Strict

__all__ = ["ConsoleSettings"]


class ConsoleSettings(Strict):
    """The web console: on by default, in the gateway's own process and port."""

    enabled: bool = Field(default=True, description="serve the admin console at /console")
    idle_timeout_s: float = Field(
        default=1800.0, gt=0, le=86_400, description="a session unused this long ends"
    )
    max_age_s: float = Field(
        default=43_200.0, gt=0, le=7 * 86_400, description="a session ends this long after sign-in"
    )
    secure_cookie: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="mark the session cookie Secure: auto does so when the request came over "
        "TLS (or through a proxy uvicorn trusts to say so)",
    )
    max_sign_in_failures: int = Field(
        default=10, ge=1, description="failed sign-ins per client address and minute before 429"
    )

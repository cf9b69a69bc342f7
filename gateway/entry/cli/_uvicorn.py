"""Serving the gateway with uvicorn, where a stop by SIGTERM or SIGINT is a clean exit.

uvicorn drains requests in flight (up to ``gateway.graceful_timeout_s``) and runs the lifespan
shutdown, then re-raises the signal so the process dies of it. ``ragway gateway`` exits 0
instead, as ``ragway worker`` and uvicorn's own supervisor do, so supervisors (systemd,
Kubernetes, ``ragway run``) read a requested stop as success.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["serve_gateway"]

_STARTUP_FAILURE = 3  # uvicorn's exit code when the app did not start


class _GracefulServer(uvicorn.Server):
    """uvicorn's server without the signal re-raised after a graceful stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # handled by the graceful stop


def serve_gateway(app: str, **options: Any) -> None:
    """Like ``uvicorn.run(app, **options)``; returns after a stop by signal."""
    if int(options.get("workers") or 1) > 1:
        # The supervisor process already exits 0 once its worker processes have stopped.
        uvicorn.run(app, **options)
        return
    server = _GracefulServer(uvicorn.Config(app, **options))
    server.run()
    if not server.started:
        sys.exit(_STARTUP_FAILURE)

"""Serving the gateway with uvicorn, where a stop by SIGTERM or SIGINT is a clean exit.

On a signal uvicorn stops accepting connections, lets the requests in flight finish (up to
``gateway.graceful_timeout_s``) and runs the lifespan shutdown, which writes out buffered
usage and audit records. Then it raises the same signal again so that the process dies of
it: exit -15 (143 in a shell), or a KeyboardInterrupt traceback for Ctrl-C. Nothing failed
in such a stop, so ``ragway gateway`` exits 0 instead, as ``ragway worker`` does and as
uvicorn's own multi-worker supervisor does. Supervisors (systemd, Kubernetes, ``ragway
run``) read 0 after a stop they asked for as success, and a non-zero code keeps meaning
that something went wrong.
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

"""Real HTTP servers on loopback for tests: uvicorn in a thread, and subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import uvicorn

from gateway.api import HTTP_PROTOCOL
from inference import die_with_parent
from tests.support.net import free_port, wait_until

__all__ = ["ServerThread", "start_process"]


class ServerThread:
    """An ASGI app served by uvicorn on a free loopback port, in a background thread."""

    def __init__(self, app: Any, *, port: int | None = None, http: str = HTTP_PROTOCOL) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="on",
            ws="none",
            http=http,  # by default as `ragway gateway` serves (fakes too: plain HTTP/1.1)
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="uvicorn")

    def start(self, *, timeout_s: float = 30.0) -> ServerThread:
        self._thread.start()
        wait_until(lambda: self._server.started or not self._thread.is_alive(), timeout_s=timeout_s)
        if not self._server.started:
            raise RuntimeError("test server failed to start (see the log above)")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_process(
    args: list[str], env: Mapping[str, str], *, ready_url: str | None = None, timeout_s: float = 60
) -> subprocess.Popen[bytes]:
    """Start ``python -m gateway <args>`` with ``env`` over this environment.

    With ``ready_url``, waits until it answers 200 (and fails if the process exits first).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **env},
        preexec_fn=die_with_parent,  # a killed test run leaves no gateway or stack behind
    )
    if ready_url is not None:

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{args} exited with {process.returncode} before it was ready")
            try:
                return httpx.get(ready_url, timeout=1.0).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, timeout_s=timeout_s, interval_s=0.1)
    return process

"""Debian's HAProxy in front of the gateway hosts, listening on loopback for the test's clients.

Health checks as a deployment would set them: ``GET /readyz`` every 500 ms, a server out
after 2 failures and back after 2 successes. A connection that fails (refused, reset before
a byte was sent) is retried, the last try on the other server; a request already sent is
never retried (it may have been counted). Each answer names the server that gave it
(``X-Ragway-Backend``); ``states`` reads the servers' states from the stats socket.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from inference import die_with_parent
from tests.support.net import free_port, wait_until

__all__ = ["BACKEND_HEADER", "Haproxy"]

BACKEND_HEADER = "X-Ragway-Backend"
CHECK_INTERVAL_MS = 500
FALL = 2
RISE = 2


class Haproxy:
    """``with Haproxy(folder, [("gw-a", "10.1.2.2:8080"), ...]) as lb:`` -- ``lb.url``."""

    def __init__(self, folder: Path, servers: Sequence[tuple[str, str]]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._folder = folder
        self._socket = folder / "haproxy.sock"
        self._servers = list(servers)
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        lines = [
            "global",
            f"    stats socket {self._socket} mode 600 level admin",
            "    maxconn 2000",
            "defaults",
            "    mode http",
            "    timeout connect 1s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    timeout check 1s",
            "    retries 2",
            "    retry-on conn-failure",  # connection failures only, never a sent request
            "    option redispatch 1",  # each retry may go to another server
            "frontend clients",
            f"    bind 127.0.0.1:{self.port}",
            "    default_backend gateways",
            "backend gateways",
            "    balance roundrobin",
            "    option httpchk GET /readyz",
            f"    http-response set-header {BACKEND_HEADER} %[srv_name]",
            f"    default-server inter {CHECK_INTERVAL_MS}ms fall {FALL} rise {RISE}",
            *(f"    server {name} {address} check" for name, address in self._servers),
            "",
        ]
        return "\n".join(lines)

    def start(self) -> Haproxy:
        executable = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(executable).exists():
            raise RuntimeError("HAProxy is not installed: `make test` installs Debian's haproxy")
        self._folder.mkdir(parents=True, exist_ok=True)
        config = self._folder / "haproxy.cfg"
        config.write_text(self._config(), encoding="utf-8")
        check = subprocess.run([executable, "-c", "-f", str(config)], capture_output=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy config rejected: {check.stdout!r} {check.stderr!r}")
        with (self._folder / "haproxy.log").open("ab") as out:
            self._process = subprocess.Popen(
                [executable, "-db", "-f", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        wait_until(self._all_up, timeout_s=60, interval_s=0.1)
        return self

    def _all_up(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"haproxy exited with {self._process.returncode}")
        try:
            states = self.states()
        except OSError:
            return False
        return all(state == "UP" for state in states.values())

    def states(self) -> dict[str, str]:
        """Each server's state as HAProxy sees it (``UP``, ``DOWN``, ``UP 1/2``, ...)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(self._socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = data.decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        states = {}
        for row in rows[1:]:
            fields = dict(zip(header, row.split(","), strict=False))
            if fields.get("pxname") == "gateways" and fields.get("svname") not in (
                "BACKEND",
                "FRONTEND",
            ):
                states[fields["svname"]] = fields["status"]
        return states

    def wait_down(self, name: str, *, timeout_s: float) -> float:
        """Seconds until HAProxy takes ``name`` out (state DOWN)."""
        started = time.monotonic()
        wait_until(lambda: self.states()[name] == "DOWN", timeout_s=timeout_s, interval_s=0.02)
        return time.monotonic() - started

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Haproxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

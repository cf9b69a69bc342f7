"""Keep one ``vllm serve`` process running: start, wait for health, restart with backoff, stop.

vLLM lives in its own environment or container (it pins its own torch), so this module only
starts its CLI as a child process and talks to it over HTTP: ``/health`` for liveness. The
child runs in its own session (a Ctrl-C in the terminal reaches only the supervisor, which
forwards a graceful SIGTERM) and gets SIGTERM should the supervisor die.
"""

from __future__ import annotations

import enum
import logging
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from inference._process import die_with_parent
from inference.errors import BackendError

__all__ = ["SupervisorPolicy", "VllmState", "VllmSupervisor"]

_log = logging.getLogger(__name__)


class VllmState(enum.StrEnum):
    """What the supervisor is doing; logged on every change."""

    STARTING = "starting"
    READY = "ready"
    UNHEALTHY = "unhealthy"
    EXITED = "exited"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SupervisorPolicy:
    """Timings of the supervision loop (from ``inference.vllm`` settings)."""

    startup_timeout_s: float = 900.0
    health_interval_s: float = 5.0
    health_failures: int = 3
    restart_backoff_s: float = 2.0
    restart_backoff_max_s: float = 120.0
    stop_timeout_s: float = 60.0
    health_timeout_s: float = 5.0


class VllmSupervisor:
    """Runs ``command`` until ``stop`` is set, restarting it whenever it dies or stops answering."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        health_url: str,
        policy: SupervisorPolicy,
        env: Mapping[str, str],
        http: httpx.Client | None = None,
    ) -> None:
        self._command = list(command)
        self._health_url = health_url
        self._policy = policy
        self._env = dict(env)
        self._http = http or httpx.Client(timeout=policy.health_timeout_s)
        self._state = VllmState.STOPPED
        self.starts = 0

    @property
    def state(self) -> VllmState:
        return self._state

    def run(self, stop: threading.Event) -> None:
        """Supervise until ``stop`` is set, then stop vLLM gracefully and return."""
        backoff = self._policy.restart_backoff_s
        while not stop.is_set():
            process = self._start()
            try:
                became_ready = self._wait_ready(process, stop)
                if became_ready:
                    backoff = self._policy.restart_backoff_s
                    self._watch(process, stop)
            finally:
                self._stop(process)
            if stop.is_set():
                break
            self._set(VllmState.BACKOFF, delay_s=backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, self._policy.restart_backoff_max_s)
        self._set(VllmState.STOPPED)

    def _start(self) -> subprocess.Popen[bytes]:
        self._set(VllmState.STARTING, command=self._command)
        try:
            process = subprocess.Popen(
                self._command,
                env=self._env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except FileNotFoundError as exc:
            raise BackendError(
                f"vLLM executable {self._command[0]!r} not found: install vLLM in its own "
                "environment and set inference.vllm.executable to its vllm CLI"
            ) from exc
        except PermissionError as exc:
            raise BackendError(f"vLLM executable {self._command[0]!r} is not executable") from exc
        self.starts += 1
        return process

    def _wait_ready(self, process: subprocess.Popen[bytes], stop: threading.Event) -> bool:
        deadline = time.monotonic() + self._policy.startup_timeout_s
        interval = min(0.5, self._policy.health_interval_s)
        while not stop.is_set():
            if process.poll() is not None:
                self._set(VllmState.EXITED, pid=process.pid, returncode=process.returncode)
                return False
            if self._healthy():
                self._set(VllmState.READY, pid=process.pid)
                return True
            if time.monotonic() > deadline:
                self._set(
                    VllmState.UNHEALTHY,
                    pid=process.pid,
                    reason=f"no /health within {self._policy.startup_timeout_s:g}s",
                )
                return False
            stop.wait(interval)
        return False

    def _watch(self, process: subprocess.Popen[bytes], stop: threading.Event) -> None:
        failures = 0
        while not stop.wait(self._policy.health_interval_s):
            if process.poll() is not None:
                self._set(VllmState.EXITED, pid=process.pid, returncode=process.returncode)
                return
            if self._healthy():
                failures = 0
                continue
            failures += 1
            if failures >= self._policy.health_failures:
                self._set(
                    VllmState.UNHEALTHY, pid=process.pid, reason=f"{failures} failed health checks"
                )
                return

    def _healthy(self) -> bool:
        try:
            return self._http.get(self._health_url).status_code == 200
        except httpx.HTTPError:
            return False

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        self._set(VllmState.STOPPING, pid=process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self._policy.stop_timeout_s)
        except subprocess.TimeoutExpired:
            _log.warning("vLLM ignored SIGTERM; killing it", extra={"pid": process.pid})
            process.kill()
            process.wait()

    def _set(self, state: VllmState, **details: object) -> None:
        self._state = state
        bad = state in (VllmState.EXITED, VllmState.UNHEALTHY)
        level = logging.WARNING if bad else logging.INFO
        _log.log(level, "vllm %s", state.value, extra={"vllm_state": state.value, **details})

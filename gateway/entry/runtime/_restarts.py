"""When the supervisor restarts a process that died, and when it gives up.

The policy is a small value object, as dramatiq's ``Retries`` middleware keeps its own: a crash
is restarted after ``first_delay_s``, doubling per crash up to ``max_delay_s``; a process that
ran ``stable_after_s`` without dying starts over at ``first_delay_s``. ``max_crashes`` crashes
within ``window_s`` mean it will not get better by itself: the stack stops.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CrashLoopError", "RestartPolicy", "Restarts", "describe_exit"]


def describe_exit(code: int) -> str:
    """A ``Popen.returncode`` in words: ``exit code 1`` or ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class CrashLoopError(Exception):
    """A process died ``max_crashes`` times within ``window_s``."""


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff between restarts, and the limit that stops the stack."""

    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    stable_after_s: float = 60.0
    max_crashes: int = 5
    window_s: float = 60.0


@dataclass
class Restarts:
    """The restart history of one process under ``policy``."""

    name: str
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    clock: Callable[[], float] = time.monotonic
    count: int = 0
    _started_at: float = 0.0
    _delay_s: float = 0.0
    _crashes: deque[float] = field(default_factory=deque)

    def started(self) -> None:
        """The process (re)started now."""
        self._started_at = self.clock()

    def crashed(self, how: str) -> float:
        """Record a death; the delay before the restart, or ``CrashLoopError``."""
        now = self.clock()
        policy = self.policy
        if not self._delay_s or now - self._started_at >= policy.stable_after_s:
            self._delay_s = policy.first_delay_s
        else:
            self._delay_s = min(self._delay_s * 2, policy.max_delay_s)
        self._crashes.append(now)
        while self._crashes and now - self._crashes[0] > policy.window_s:
            self._crashes.popleft()
        if len(self._crashes) >= policy.max_crashes:
            raise CrashLoopError(
                f"the {self.name} process keeps crashing ({len(self._crashes)} times within "
                f"{policy.window_s:g} s, last: {how}); stopping ragway — see its output above"
            )
        self.count += 1
        return self._delay_s

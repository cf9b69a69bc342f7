"""The restart policy: exponential backoff, reset after a stable run, a limit on crashes."""

from __future__ import annotations

import pytest

from gateway.entry.runtime._restarts import CrashLoopError, RestartPolicy, Restarts, describe_exit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_cap_and_reset_after_a_stable_run() -> None:
    clock = Clock()
    policy = RestartPolicy(first_delay_s=0.5, max_delay_s=2.0, stable_after_s=60, window_s=1)
    restarts = Restarts("worker", policy, clock)
    restarts.started()
    delays = []
    for _ in range(4):
        clock.now += 5  # apart enough that the crash limit never counts them together
        delays.append(restarts.crashed("exit code 1"))
        restarts.started()
    assert delays == [0.5, 1.0, 2.0, 2.0]
    clock.now += 61
    assert restarts.crashed("killed by SIGKILL") == 0.5
    assert restarts.count == 5


def test_too_many_crashes_in_the_window_is_a_crash_loop() -> None:
    clock = Clock()
    restarts = Restarts("worker", RestartPolicy(max_crashes=3, window_s=60), clock)
    restarts.started()
    restarts.crashed("exit code 1")
    clock.now += 30
    restarts.crashed("exit code 1")
    clock.now += 31  # the first crash left the window
    restarts.crashed("exit code 1")
    clock.now += 1
    with pytest.raises(
        CrashLoopError, match=r"worker process keeps crashing \(3 times within 60 s"
    ):
        restarts.crashed("exit code 3")


def test_exit_statuses_in_words() -> None:
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"

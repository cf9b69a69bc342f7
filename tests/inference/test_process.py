"""``die_with_parent``: a child started with it is ended when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import wait_until

_PARENT = """
import subprocess, sys, time
from inference import die_with_parent
child = subprocess.Popen(["sleep", "60"], preexec_fn={preexec})
print(child.pid, flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is dead; it waits only for whoever reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _orphan_outlives_parent(preexec: str, *, wait_s: float) -> bool:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT.format(preexec=preexec)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _running(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        try:
            wait_until(lambda: not _running(child), timeout_s=wait_s)
        except TimeoutError:
            return True
        return False
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG)")
def test_child_gets_sigterm_when_its_parent_dies() -> None:
    assert not _orphan_outlives_parent("die_with_parent", wait_s=5.0)
    assert _orphan_outlives_parent("None", wait_s=1.0)  # without it the child would be orphaned

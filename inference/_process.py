"""Process helpers shared by every supervisor that starts long-lived children."""

from __future__ import annotations

import ctypes
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """``preexec_fn``: the child gets SIGTERM when its parent dies, so nothing is orphaned.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere a no-op.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

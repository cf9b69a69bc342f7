"""Stops an embedded Postgres when the ``ragway run`` that started it dies, even by SIGKILL.

``pg_ctl`` daemonizes the postmaster, out of ``PR_SET_PDEATHSIG``'s reach. This stdlib-only
script (started by path, importing nothing of ragway) reads a pipe from the supervisor on stdin;
end of file means the supervisor is gone, and it runs ``pg_ctl stop -m fast``.

Usage: ``python _pg_watchdog.py PG_CTL PGDATA USER`` (USER empty: ours), the pipe on stdin.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def main(pg_ctl: str, pgdata: str, user: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    while sys.stdin.buffer.read(4096):
        pass
    if not (Path(pgdata) / "postmaster.pid").exists():
        return 0
    sys.stderr.write(f"ragway run is gone; stopping its Postgres in {pgdata}\n")
    sys.stderr.flush()
    done = subprocess.run(
        [pg_ctl, "-D", pgdata, "-m", "fast", "-w", "-t", "30", "stop"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        user=user or None,  # pg_ctl refuses to run as root: the user the server runs as
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

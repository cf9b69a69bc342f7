"""The harness itself: a host reaches the shared services; killed, its processes are gone
and its sockets closed at once; cut, it is silent; afterwards nothing of it is left."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.multi_host._hosts import Host, Network, ip

pytestmark = pytest.mark.multi_host

LISTEN = "import socket,sys,time; s=socket.create_server((sys.argv[1], 7000)); time.sleep(600)"


def test_a_killed_host_closes_its_sockets_and_a_cut_one_is_silent(tmp_path: Path) -> None:
    with Network.create() as network:
        killed_and_cut(network.add_host("harness"), tmp_path / "harness.log")


def killed_and_cut(host: Host, log: Path) -> None:
    host.spawn([sys.executable, "-c", LISTEN, host.address], env={}, log=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection((host.address, 7000), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    assert host.pids()

    host.cut()
    with pytest.raises(TimeoutError):
        socket.create_connection((host.address, 7000), timeout=1)
    host.mend()
    held = socket.create_connection((host.address, 7000), timeout=5)

    host.kill()
    assert host.pids() == []
    assert all(process.poll() is not None for process in host.processes)
    with pytest.raises(ConnectionRefusedError):  # its kernel answers: nothing listens
        socket.create_connection((host.address, 7000), timeout=5)
    held.close()


def test_a_network_leaves_nothing_behind(tmp_path: Path) -> None:
    with Network.create() as network:
        host = network.add_host("gone")
        host.spawn(["sleep", "600"], env={"PATH": "/usr/bin:/bin"}, log=tmp_path / "sleep.log")
        names = (network.bridge, host.netns)
        assert host.netns in ip("netns", "list")
    assert names[1] not in ip("netns", "list")
    assert subprocess.run(["ip", "link", "show", names[0]], capture_output=True).returncode != 0

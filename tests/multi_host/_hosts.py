"""Hosts as Linux network namespaces on one bridge of the root namespace (needs root).

``Network`` makes a bridge with a /24 of its own (a random ``10.x.y.0/24`` no interface of
the machine uses, so two runs side by side never meet) and names that carry the test
process's id; ``add_host`` makes a namespace with a veth into the bridge, its own address,
``lo`` up and a default route via the bridge. Processes run in a host with ``ip netns
exec``. ``kill`` is a host dying: SIGKILL of every process in its namespace (its kernel
lives on and closes their sockets); ``cut`` is a host going silent: its link down, nothing
answers and nothing is closed. ``close`` removes it all, namespaces, veths, bridge and
processes, after a failure too; a run that was killed outright is swept by the next one
(names whose process id is gone).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from inference import die_with_parent

__all__ = ["Host", "Network"]

_PREFIX = "ragway-mh"  # of namespace names and the bridge's alias: ragway-mh-<pid>-...


def ip(*args: str) -> str:
    """``ip ARGS``; its output, or an error with its message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Host:
    """A namespace with an address on the bridge; the processes a test started in it."""

    label: str
    netns: str
    address: str
    veth: str  # the root namespace's end
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(
        self, argv: Sequence[str], *, env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        """``argv`` in this host (``ip netns exec`` execs it: the pid is the program's),
        its output in ``log``."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, *argv],
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # never outlives a killed test run
            )
        self.processes.append(process)
        return process

    def pids(self) -> list[int]:
        """Every process in this host's namespace (children of what a test started too)."""
        done = subprocess.run(
            ["ip", "netns", "pids", self.netns], capture_output=True, text=True, timeout=30
        )
        return [int(pid) for pid in done.stdout.split()]

    def kill(self) -> float:
        """The host dies: SIGKILL to every process in it, each reaped. Returns the monotonic
        time all were gone: a request sent before then may have been cut off."""
        for _ in range(3):  # a process forking while we kill: look again
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for process in self.processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
        return time.monotonic()

    def cut(self) -> None:
        """The host goes silent: its link down. Packets to it are lost, none come back."""
        ip("link", "set", self.veth, "down")

    def mend(self) -> None:
        """The link up again after ``cut``."""
        ip("link", "set", self.veth, "up")


@dataclass
class Network:
    """A bridge and the hosts on it; ``address`` is the root namespace's (shared services
    listen there)."""

    token: str
    bridge: str
    subnet: str  # "10.x.y"
    hosts: list[Host] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.subnet}.1"

    @classmethod
    def create(cls) -> Network:
        _sweep_dead_runs()
        token = f"{os.getpid():x}"[-5:] + secrets.token_hex(1)
        network = cls(token=token, bridge=f"mb{token}", subnet=_free_subnet())
        try:
            ip("link", "add", network.bridge, "type", "bridge")
            ip("link", "set", network.bridge, "alias", f"{_PREFIX}-{os.getpid()}")
            ip("addr", "add", f"{network.address}/24", "dev", network.bridge)
            ip("link", "set", network.bridge, "up")
        except BaseException:
            network.close()
            raise
        return network

    def add_host(self, label: str) -> Host:
        number = len(self.hosts) + 2
        netns = f"{_PREFIX}-{os.getpid()}-{self.token}-{label}"
        outer, inner = f"mv{self.token}{number}", f"mp{self.token}{number}"
        host = Host(label, netns, f"{self.subnet}.{number}", outer)
        ip("netns", "add", netns)
        self.hosts.append(host)
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        ip("link", "set", inner, "netns", netns)
        ip("link", "set", outer, "master", self.bridge)
        ip("link", "set", outer, "up")
        ip("-n", netns, "link", "set", inner, "name", "eth0")
        ip("-n", netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", netns, "link", "set", "eth0", "up")
        ip("-n", netns, "link", "set", "lo", "up")
        ip("-n", netns, "route", "add", "default", "via", self.address)
        return host

    def close(self) -> None:
        """Every process killed, every namespace (and so its veth) and the bridge removed."""
        for host in self.hosts:
            host.kill()
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True, timeout=30)
        self.hosts.clear()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, timeout=30)

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_subnet() -> str:
    """A 10.x.y.0/24 that no address of the machine is in."""
    taken = ip("-4", "-o", "addr", "show") + ip("-4", "route", "show")
    for _ in range(100):
        subnet = f"10.{random.randint(160, 250)}.{random.randint(1, 254)}"
        if f"{subnet}." not in taken:
            return subnet
    raise RuntimeError("no free 10.x.y.0/24 for the test network")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_dead_runs() -> None:
    """Namespaces and bridges left by a test run that was killed before it could clean up."""
    pattern = re.compile(rf"^{_PREFIX}-(\d+)-")
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        match = pattern.match(name)
        if match and not _alive(int(match.group(1))):
            for pid in subprocess.run(
                ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=30
            ).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
    links = ip("-o", "link", "show", "type", "bridge")
    for match in re.finditer(rf"^\d+: (\S+?):.*alias {_PREFIX}-(\d+)", links, re.MULTILINE):
        if not _alive(int(match.group(2))):
            subprocess.run(["ip", "link", "del", match.group(1)], capture_output=True, timeout=30)

"""A Redis master, its replica and three Sentinels of a test's own, on free loopback ports.

Each server is a ``redis-server`` child of the test (dying with it), with passwords on the
data nodes and on the sentinels (so the tests see them carried), nothing persisted, and
``down-after-milliseconds`` short enough for a fail-over within seconds. ``kill_master``
SIGKILLs the current master; ``wait_failover`` waits until the sentinels name another.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from inference import die_with_parent
from tests.support.net import free_port, wait_until

__all__ = ["SERVICE", "SentinelCluster", "sentinel_cluster"]

SERVICE = "ragway-test"
DATA_PASSWORD = "data-pass-7f3c1e"
SENTINEL_PASSWORD = "sentinel-pass-92ab4d"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


def _redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("these tests need redis-server (Debian's redis-server package)")
    return path


@dataclass
class SentinelCluster:
    """The servers and how to reach them; ``env`` configures a ragway process for them."""

    folder: Path
    host: str = "127.0.0.1"  # the address every server binds and the sentinels announce
    ports: dict[str, int] = field(default_factory=dict)  # name -> port
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sentinel_ports(self) -> list[int]:
        return [port for name, port in self.ports.items() if name.startswith("sentinel")]

    @property
    def addresses(self) -> list[str]:
        return [f"{self.host}:{port}" for port in self.sentinel_ports]

    def env(self) -> dict[str, str]:
        """The environment that points ragway at this master through the sentinels."""
        return {
            "RAGWAY_REDIS__SENTINEL__ADDRESSES": "["
            + ",".join(f'"{a}"' for a in self.addresses)
            + "]",
            "RAGWAY_REDIS__SENTINEL__SERVICE_NAME": SERVICE,
            "REDIS_PASSWORD": DATA_PASSWORD,
            "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
        }

    def data_client(self, port: int) -> redis.Redis:
        return redis.Redis(host=self.host, port=port, password=DATA_PASSWORD, socket_timeout=2)

    def master_port(self) -> int:
        """The master's port as the first sentinel that answers names it."""
        for port in self.sentinel_ports:
            try:
                client = redis.Redis(
                    host=self.host, port=port, password=SENTINEL_PASSWORD, socket_timeout=1
                )
                with client:
                    host_port = client.sentinel_get_master_addr_by_name(SERVICE)
            except redis.RedisError:
                continue
            if isinstance(host_port, tuple | list):
                return int(host_port[1])
        raise RuntimeError("no sentinel names a master")

    def kill_master(self) -> int:
        """SIGKILL the current master; its port."""
        port = self.master_port()
        name = next(n for n, p in self.ports.items() if p == port)
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)
        return port

    def wait_failover(self, old_port: int, *, timeout_s: float) -> float:
        """Seconds until every sentinel names a master other than ``old_port`` that answers
        as master."""

        def moved() -> bool:
            try:
                port = self.master_port()
                if port == old_port:
                    return False
                with self.data_client(port) as client:
                    return bool(client.info("replication")["role"] == "master")
            except (redis.RedisError, RuntimeError):
                return False

        started = time.monotonic()
        wait_until(moved, timeout_s=timeout_s, interval_s=0.05)
        return time.monotonic() - started

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- starting ------------------------------------------------------------------
    def _start(self, name: str, args: list[str]) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [_redis_server(), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        log.close()

    def _data_node(self, name: str, replica_of: int | None = None) -> None:
        port = self.ports[name] = free_port()
        folder = self.folder / name
        folder.mkdir()
        args = [
            "--port", str(port), "--bind", self.host, "--dir", str(folder),
            "--save", "", "--appendonly", "no",
            "--requirepass", DATA_PASSWORD, "--masterauth", DATA_PASSWORD,
        ]  # fmt: skip
        if replica_of is not None:
            args += ["--replicaof", self.host, str(replica_of)]
        self._start(name, args)
        wait_until(lambda: self._answers(port, DATA_PASSWORD), timeout_s=10)

    def _sentinel(self, name: str, master_port: int) -> None:
        port = self.ports[name] = free_port()
        config = self.folder / f"{name}.conf"
        config.write_text(
            f"port {port}\n"
            f"bind {self.host}\n"
            f"dir {self.folder}\n"
            f"requirepass {SENTINEL_PASSWORD}\n"
            f"sentinel sentinel-pass {SENTINEL_PASSWORD}\n"
            f"sentinel monitor {SERVICE} {self.host} {master_port} 2\n"
            f"sentinel auth-pass {SERVICE} {DATA_PASSWORD}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self._start(name, [str(config), "--sentinel"])
        wait_until(lambda: self._answers(port, SENTINEL_PASSWORD), timeout_s=10)

    def _answers(self, port: int, password: str) -> bool:
        try:
            with redis.Redis(
                host=self.host, port=port, password=password, socket_timeout=1
            ) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def _ready(self) -> bool:
        """The replica is in sync and every sentinel knows the replica and its two peers."""
        with self.data_client(self.ports["replica"]) as replica:
            if replica.info("replication").get("master_link_status") != "up":
                return False
        for port in self.sentinel_ports:
            with redis.Redis(
                host=self.host, port=port, password=SENTINEL_PASSWORD, socket_timeout=1
            ) as s:
                state = s.sentinel_master(SERVICE)
                if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                    return False
        return True


@contextmanager
def sentinel_cluster(folder: Path, *, host: str = "127.0.0.1") -> Iterator[SentinelCluster]:
    """Master, replica and three sentinels on ``host``, all ready; stopped afterwards."""
    cluster = SentinelCluster(folder, host)
    try:
        cluster._data_node("master")
        cluster._data_node("replica", replica_of=cluster.ports["master"])
        for n in (1, 2, 3):
            cluster._sentinel(f"sentinel{n}", cluster.ports["master"])
        wait_until(cluster._ready, timeout_s=30, interval_s=0.1)
        yield cluster
    finally:
        cluster.stop()

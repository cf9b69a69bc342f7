"""The shared services of the multi-host tests, in the root namespace on the bridge's address,
and the ragway processes of the hosts.

Shared: the session's Postgres through PgBouncer in transaction mode, moto's S3 server (a
bucket of the run's own), a Redis of the run's own, the machine's RabbitMQ (loopback only:
relayed onto the bridge, a virtual host of the run's own) and a fake OpenAI upstream (chat,
and embeddings that take ``EMBED_S``). Each host runs ``python -m gateway gateway`` or
``python -m gateway worker`` with a data directory of its own (no shared disk), files on S3
and the queue on RabbitMQ.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

import httpx
import redis

from inference import die_with_parent
from ingestion.db import migrate
from tests.multi_host._hosts import Host, Network
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port, wait_until
from tests.support.pgbouncer import pgbouncer
from tests.support.rabbitmq import RABBITMQ_HOST, RABBITMQ_PORT, RabbitVhost, rabbit_vhost
from tests.support.s3 import AWS_ENV, MotoS3
from tests.support.services import PostgresForTests
from tests.support.tcp_relay import TcpRelay

__all__ = ["EMBED_S", "GATEWAY_PORT", "METRICS_PORT", "Cluster", "shared_services"]

GATEWAY_PORT = 8080  # every host has an address of its own: the same port on each
METRICS_PORT = 9100
EMBED_S = 0.15  # each embeddings call of the fake upstream takes this long
UPSTREAM_KEY_ENV = "MULTI_HOST_UPSTREAM_KEY"


@dataclass
class Cluster:
    """The network, the shared services' URLs and the environment of a ragway process."""

    network: Network
    folder: Path
    database_url: str  # straight to Postgres: what the test itself reads
    pooled_url: str  # through PgBouncer on the bridge: what the hosts use
    redis_url: str
    rabbit_url: str
    s3: MotoS3
    bucket: str
    upstream: FakeOpenAI
    vhost: RabbitVhost
    token: str

    @property
    def key_prefix(self) -> str:
        return f"mh-{self.token}:"

    def env(self, host: Host, **overrides: str) -> dict[str, str]:
        """What a ragway process on ``host`` gets (``overrides`` last)."""
        data = self.folder / "hosts" / host.label
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "ragway.json"
        return {
            **os.environ,
            **AWS_ENV,
            UPSTREAM_KEY_ENV: "sk-upstream-multi-host-" + "m" * 20,
            "RAGWAY_CONFIG": str(config),
            "DATABASE_URL": self.pooled_url,
            "RAGWAY_DATABASE__POOLER": "transaction",
            "REDIS_URL": self.redis_url,
            "RAGWAY_REDIS__KEY_PREFIX": self.key_prefix,
            "RAGWAY_WORKER__NAMESPACE": f"mh-dramatiq-{self.token}",
            "RABBITMQ_URL": self.rabbit_url,
            "RAGWAY_QUEUE__BROKER": "rabbitmq",
            "RAGWAY_DATA_DIR": str(data),
            "RAGWAY_INGESTION__STORAGE__KIND": "s3",
            "RAGWAY_INGESTION__STORAGE__BUCKET": self.bucket,
            "RAGWAY_INGESTION__STORAGE__ENDPOINT_URL": self.s3.url,
            "RAGWAY_INGESTION__STORAGE__ADDRESSING_STYLE": "path",
            "RAGWAY_INGESTION__METRICS_HOST": host.address,
            "RAGWAY_INGESTION__METRICS_PORT": str(METRICS_PORT),
            "RAGWAY_POLICY__QUOTAS__ON_REDIS_ERROR": "closed",
            "RAGWAY_LOGGING__LEVEL": "INFO",
            **overrides,
        }

    def write_config(self) -> None:
        """Chat to the fake upstream as model ``chat``; embeddings (8-d) from it too."""
        deployment = {
            "provider": "openai",
            "base_url": self.upstream.base_url,
            "api_key_env": UPSTREAM_KEY_ENV,
        }
        config = {
            "providers": {
                "models": {
                    "chat": {"deployments": [{"name": "chat-a", "model": "gpt-test", **deployment}]}
                }
            },
            "inference": {
                "embedder": {
                    "kind": "remote",
                    "base_url": self.upstream.base_url,
                    "model": "fault-slow",
                    "api_key_env": UPSTREAM_KEY_ENV,
                    "dimension": 8,
                    "max_retries": 0,
                }
            },
            "worker": {"threads": 2, "shutdown_timeout_s": 5},
            "ingestion": {"min_backoff_s": 0.1, "max_backoff_s": 0.5},
        }
        (self.folder / "ragway.json").write_text(json.dumps(config), encoding="utf-8")

    # -- the hosts' processes -------------------------------------------------------
    def start_gateways(self, hosts: list[Host], env: Mapping[str, Mapping[str, str]]) -> None:
        """``python -m gateway gateway`` on each host (``env`` by label), all ready."""
        for host in hosts:
            host.spawn(
                [sys.executable, "-m", "gateway", "gateway", "--host", host.address,
                 "--port", str(GATEWAY_PORT)],
                env=env[host.label],
                log=self.folder / f"{host.label}-gateway.log",
            )  # fmt: skip
        for host in hosts:
            wait_until(partial(self._answers, host, "/readyz"), timeout_s=90, interval_s=0.2)

    def start_worker(self, host: Host, env: Mapping[str, str]) -> None:
        host.spawn(
            [sys.executable, "-m", "gateway", "worker"],
            env=env,
            log=self.folder / f"{host.label}-worker.log",
        )

    def wait_worker(self, host: Host) -> None:
        wait_until(lambda: self._answers(host, "/metrics"), timeout_s=90, interval_s=0.2)

    def _answers(self, host: Host, path: str) -> bool:
        for process in host.processes:
            if process.poll() is not None:
                raise RuntimeError(f"a process on {host.label} exited: {self.log_tail(host)}")
        port = GATEWAY_PORT if path == "/readyz" else METRICS_PORT
        try:
            url = f"http://{host.address}:{port}{path}"
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def log_tail(self, host: Host) -> str:
        return "\n".join(
            log.read_text(errors="replace")[-2000:]
            for log in sorted(self.folder.glob(f"{host.label}-*.log"))
        )


@contextmanager
def _redis_on(address: str, folder: Path) -> Iterator[str]:
    """A ``redis-server`` of the run's own on ``address``, nothing persisted."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("these tests need redis-server (Debian's redis-server package)")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "redis.log").open("ab") as log:
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", address, "--dir", str(folder),
             "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )  # fmt: skip
    url = f"redis://{address}:{port}/0"

    def pong() -> bool:
        try:
            with redis.Redis.from_url(url, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_until(pong, timeout_s=15)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def shared_services(postgres: PostgresForTests, folder: Path) -> Iterator[Cluster]:
    """The network and every shared service; all of it gone afterwards."""
    with ExitStack() as stack:
        network = stack.enter_context(Network.create())
        address = network.address
        folder.chmod(0o755)  # PgBouncer runs as Postgres's user and reads its folder in here
        database_url = postgres.create_database("ragway_mh")
        asyncio.run(migrate(database_url))
        bouncer = stack.enter_context(
            pgbouncer(database_url, folder / "pgbouncer", pool_size=4, listen=address)
        )
        s3 = stack.enter_context(MotoS3(folder / "moto.log", host=address))
        redis_url = stack.enter_context(_redis_on(address, folder / "redis"))
        vhost = stack.enter_context(rabbit_vhost("ragway-multihost"))
        relay = stack.enter_context(TcpRelay(RABBITMQ_HOST, RABBITMQ_PORT, host=address))
        upstream = stack.enter_context(FakeOpenAI(host=address, slow_s=EMBED_S))
        cluster = Cluster(
            network=network,
            folder=folder,
            database_url=database_url,
            pooled_url=bouncer.url_for(database_url),
            redis_url=redis_url,
            rabbit_url=f"amqp://guest:guest@{address}:{relay.port}/{quote(vhost.name, safe='')}",
            s3=s3,
            bucket=s3.bucket("multihost"),
            upstream=upstream,
            vhost=vhost,
            token=secrets.token_hex(4),
        )
        cluster.write_config()
        stack.callback(_kill_hosts, network)  # first of all: nothing on a host outlives a test
        yield cluster


def _kill_hosts(network: Network) -> None:
    for host in network.hosts:
        host.kill()

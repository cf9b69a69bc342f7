"""The machine's RabbitMQ (127.0.0.1:5672, guest/guest) for tests: a virtual host of the
test's own, created and deleted with ``rabbitmqctl``, so that Dramatiq's queue names (which
carry no namespace) never meet another test's or a deployment's."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import pika  # type: ignore[import-untyped, unused-ignore]  # no stubs

__all__ = ["RABBITMQ_HOST", "RABBITMQ_PORT", "RabbitVhost", "rabbit_vhost"]

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
_USER = "guest"


@dataclass(frozen=True)
class RabbitVhost:
    """A virtual host the tests own; ``url`` reaches it as guest."""

    name: str

    @property
    def url(self) -> str:
        return f"amqp://{_USER}:{_USER}@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{quote(self.name, safe='')}"

    def queue_counts(self, name: str) -> tuple[int, int]:
        """(ready messages, consumers) of queue ``name``, -1s when it does not exist."""
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            try:
                ok = channel.queue_declare(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker:
                return -1, -1
            return int(ok.method.message_count), int(ok.method.consumer_count)
        finally:
            connection.close()

    def get_all(self, name: str) -> list[bytes]:
        """Take every ready message of queue ``name`` (acknowledged: they are gone)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        bodies: list[bytes] = []
        try:
            channel = connection.channel()
            while True:
                method, _, body = channel.basic_get(name, auto_ack=True)
                if method is None:
                    return bodies
                bodies.append(body)
        finally:
            connection.close()


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _reachable() -> bool:
    try:
        with socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def rabbit_vhost(prefix: str = "ragway-test") -> Iterator[RabbitVhost]:
    """A fresh virtual host (guest may use it), deleted with everything in it afterwards."""
    if shutil.which("rabbitmqctl") is None or not _reachable():
        raise RuntimeError(
            f"these tests need the machine's RabbitMQ on {RABBITMQ_HOST}:{RABBITMQ_PORT} and "
            "rabbitmqctl (Debian's rabbitmq-server package)"
        )
    vhost = RabbitVhost(f"{prefix}-{secrets.token_hex(4)}")
    _ctl("add_vhost", vhost.name)
    try:
        _ctl("set_permissions", "-p", vhost.name, _USER, ".*", ".*", ".*")
        yield vhost
    finally:
        _ctl("delete_vhost", vhost.name)

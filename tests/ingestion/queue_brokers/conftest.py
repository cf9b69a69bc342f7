"""The queue on RabbitMQ: a virtual host of this package's own on the machine's RabbitMQ."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.rabbitmq import RabbitVhost, rabbit_vhost


@pytest.fixture(scope="module")
def vhost() -> Iterator[RabbitVhost]:
    """One virtual host per test module, deleted (queues and all) after it."""
    with rabbit_vhost() as own:
        yield own

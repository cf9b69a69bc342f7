"""Hosts as network namespaces (root only) around shared services of the run's own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.multi_host._cluster import Cluster, shared_services
from tests.support.services import PostgresForTests


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresForTests, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """The network and the shared services, for one test module."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the multi-host tests need root and iproute2 (`ip netns`)")
    with shared_services(postgres, tmp_path_factory.mktemp("multihost")) as running:
        yield running

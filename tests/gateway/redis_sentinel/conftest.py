"""Redis Sentinel: a master, a replica and three sentinels of each test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sentinel import SentinelCluster, sentinel_cluster


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelCluster]:
    """Ready to fail over (each test may kill its master)."""
    folder = tmp_path / "sentinel"
    folder.mkdir()
    with sentinel_cluster(folder) as cluster:
        yield cluster

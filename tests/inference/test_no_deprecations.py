"""Building the CPU inference server emits no Litestar deprecation warning (errors in v3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inference.generation import Scheduler
from inference.server import InferenceService, ServerMetrics, create_inference_app
from tests.support.deprecations import deprecations_while_building


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    scheduler = Scheduler(max_active=1, max_queued=1)
    yield scheduler
    scheduler.close()


def test_cpu_server_builds_without_deprecations(scheduler: Scheduler) -> None:
    service = InferenceService(
        generators={}, embedders={}, scheduler=scheduler, metrics=ServerMetrics()
    )
    app, deprecations = deprecations_while_building(lambda: create_inference_app(service))

    assert "/v1/models/{model_id:path}" in {route.path for route in app.routes}
    assert [d.message for d in deprecations] == []

"""Adding an endpoint is a protocol, a serving object and one entry in the endpoint table.

``tests.support.echo_family`` is such a family; served as ``(*FAMILIES, ECHO)``, it answers
on the HTTP front's direct lane and through ASGI, is in ``/openapi``, and the pipeline's
hooks see its name and capabilities.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from configs import Settings
from gateway.api import FAMILIES, HTTP_PROTOCOL, GatewayLitestar, api_route_handlers
from gateway.entry.app import create_app
from tests.gateway.api.conftest import ENV
from tests.support.echo_family import ECHO, EchoServing
from tests.support.net import wait_until
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

TABLE = (*FAMILIES, ECHO)


@pytest.fixture(scope="module", params=["front", "asgi"])
def served(
    request: pytest.FixtureRequest,
    api_settings: Settings,
    database_url: str,
    redis_service: RedisForTests,
) -> Iterator[tuple[str, GatewayLitestar]]:
    """The gateway serving ``TABLE``, as any app would be given its endpoint table."""
    app = create_app(
        api_settings,
        database_url=database_url,
        redis_url=redis_service.url,
        env=ENV,
        families=TABLE,
    )
    http = HTTP_PROTOCOL if request.param == "front" else "httptools"
    with ServerThread(app, http=http) as server:
        assert isinstance(app, GatewayLitestar)
        yield server.base_url, app


def _ledger_endpoint(database_url: str, request_id: str) -> str | None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT endpoint FROM usage_events WHERE request_id = %s", (request_id,)
        ).fetchone()
    return None if row is None else str(row[0])


def test_the_new_family_answers_and_its_hooks_see_it(
    served: tuple[str, GatewayLitestar], api_key: str, database_url: str
) -> None:
    url, app = served
    answer = httpx.post(
        f"{url}/v1/echo",
        json={"model": "chat", "text": "hello table"},
        headers={"authorization": f"Bearer {api_key}"},
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["object"] == "echo"
    assert answer.json()["text"] == "echo: hello table"
    assert answer.headers["x-request-id"]
    # The pipeline ran for it: the usage hook wrote its ledger row under the family's name,
    # and the call carried the family's capabilities.
    request_id = answer.headers["x-request-id"]
    wait_until(lambda: _ledger_endpoint(database_url, request_id) == "echo", timeout_s=10)
    assert app.state.api.servings["echo"].family.capabilities is ECHO.capabilities
    # the HTTP front's direct lane and the ASGI bypass both come from the same table
    assert isinstance(app.direct_route(b"/v1/echo"), EchoServing)


def test_the_new_family_checks_its_body_with_its_wire_model(
    served: tuple[str, GatewayLitestar], api_key: str
) -> None:
    url, _ = served
    answer = httpx.post(
        f"{url}/v1/echo",
        json={"model": "chat", "text": ""},
        headers={"authorization": f"Bearer {api_key}"},
        timeout=20,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "text"


def test_the_new_family_is_documented(served: tuple[str, GatewayLitestar]) -> None:
    url, _ = served
    document = httpx.get(f"{url}/openapi/openapi.json", timeout=20).json()
    operation = document["paths"]["/v1/echo"]["post"]
    assert operation["summary"] == ECHO.summary
    assert operation["operationId"] == "v1_echo"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/EchoRequest"}
    assert "EchoRequest" in document["components"]["schemas"]
    for family in FAMILIES:  # the built-in families are still there
        assert family.path in document["paths"]


def test_the_table_gives_litestar_a_route_per_family() -> None:
    app = GatewayLitestar(route_handlers=api_route_handlers(TABLE))
    paths = {route.path for route in app.routes}
    assert {family.path for family in TABLE} <= paths

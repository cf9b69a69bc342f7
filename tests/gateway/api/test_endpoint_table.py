"""Adding an endpoint is a protocol, a serving object and one entry in the endpoint table.

``tests.support.echo_family`` is such a family; served as ``(*FAMILIES, ECHO)``, it answers
on the HTTP front's direct lane and through ASGI, is in ``/openapi``, and the pipeline's
hooks see its name and capabilities.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

from configs import Settings
from gateway.api import FAMILIES, HTTP_PROTOCOL, ApiServices, GatewayLitestar, api_route_handlers
from gateway.entry.app import create_app
from gateway.policy.pipeline import Call, Capabilities, Hook, Stage
from tests.gateway.api.conftest import ENV
from tests.support.echo_family import ECHO, EchoServing
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

TABLE = (*FAMILIES, ECHO)


class _Seen(Hook):
    """Records what each request's pipeline knew about its endpoint."""

    name: ClassVar[str] = "seen"
    stage: ClassVar[Stage] = Stage.OBSERVE
    calls: ClassVar[list[tuple[str, Capabilities]]] = []

    async def on_request(self, call: Call) -> None:
        self.calls.append((call.endpoint, call.capabilities))


@pytest.fixture(scope="module", params=["front", "asgi"])
def served(
    request: pytest.FixtureRequest,
    api_settings: Settings,
    database_url: str,
    redis_service: RedisForTests,
) -> Iterator[tuple[str, GatewayLitestar]]:
    """The gateway serving ``TABLE``: ``ApiServices.open`` is given the table (and a hook
    that records calls), as the app's composition would pass it."""
    open_services = ApiServices.open.__func__  # type: ignore[attr-defined]

    async def open_with_table(cls: type[ApiServices], settings: Settings, /, **kw: Any) -> Any:
        hooks = [*kw.pop("policy_hooks", ()), _Seen()]
        return await open_services(cls, settings, **kw, policy_hooks=hooks, families=TABLE)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ApiServices, "open", classmethod(open_with_table))
        app = create_app(
            api_settings, database_url=database_url, redis_url=redis_service.url, env=ENV
        )
        http = HTTP_PROTOCOL if request.param == "front" else "httptools"
        with ServerThread(app, http=http) as server:
            assert isinstance(app, GatewayLitestar)
            yield server.base_url, app


def test_the_new_family_answers_and_its_hooks_see_it(
    served: tuple[str, GatewayLitestar], api_key: str
) -> None:
    url, app = served
    _Seen.calls.clear()
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
    assert _Seen.calls == [("echo", ECHO.capabilities)]
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

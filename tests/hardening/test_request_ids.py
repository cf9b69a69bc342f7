"""Every response of every route carries ``X-Request-ID`` (issue 16, finding 7: the vector
store routes had none). Walks the whole OpenAPI document of a ``ragway gateway`` process --
every family: OpenAI, files, vector stores, admin, audit, health, metrics -- plus a route
that does not exist, without a key, with a member key and with an admin key (reads only)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.hardening.conftest import Gateway, Keys, bearer


def operations(gateway: Gateway) -> list[tuple[str, str]]:
    document = httpx.get(f"{gateway.url}/openapi/openapi.json", timeout=30).json()
    found = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x_missing", path))
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]
    families = {path.split("/")[1 if not path.startswith("/v1/") else 2] for _, path in found}
    assert {"chat", "embeddings", "models", "files", "vector_stores", "admin"} <= families
    return [*found, ("GET", "/nowhere"), ("GET", "/openapi/openapi.json")]


@pytest.mark.parametrize("who", ["nobody", "member", "admin"])
def test_every_route_answers_with_a_request_id(gateway: Gateway, keys: Keys, who: str) -> None:
    headers = {"nobody": {}, "member": bearer(keys.member), "admin": bearer(keys.admin)}[who]
    missing: list[str] = []
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for n, (method, path) in enumerate(operations(gateway)):
            if who == "admin" and method != "GET":
                continue  # an admin's writes would change what other tests see
            sent = f"walk-{who}-{n}"
            response = http.request(
                method,
                path,
                headers={**headers, "X-Request-ID": sent},
                json={} if method in ("POST", "PATCH", "PUT") else None,
            )
            if response.headers.get("x-request-id") != sent:
                missing.append(f"{method} {path} -> {response.status_code}")
            fresh = http.request(method, path, headers=headers) if method == "GET" else None
            if fresh is not None and not fresh.headers.get("x-request-id", "").startswith("req_"):
                missing.append(f"{method} {path} (no id sent) -> {fresh.status_code}")
    assert not missing, missing

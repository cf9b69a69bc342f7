"""Schemathesis against the gateway's own OpenAPI schema, as an admin and as a member key.

Every documented operation gets generated requests (valid and invalid); no answer may be a
5xx and every answer the schema describes must match it. The short run is in the default
test command; ``-m slow`` runs the long one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.hardening.conftest import Gateway, Keys

# Deleting or rotating the fuzzer's own key would end the run; those operations are fuzzed
# with the member key only (403 before anything is changed).
_ADMIN_SKIPS = {
    ("DELETE", "/admin/keys/{key_id}"),
    ("POST", "/admin/keys/{key_id}/rotate"),
    ("POST", "/admin/keys/{key_id}/revoke"),
    ("PATCH", "/admin/keys/{key_id}"),
}


def load_schema(gateway: Gateway) -> schemathesis.BaseSchema:
    document = httpx.get(f"{gateway.url}/openapi/openapi.json", timeout=30).json()
    assert document["paths"], "the gateway documents no paths"
    schema = schemathesis.openapi.from_dict(document)
    return schema


def fuzz(gateway: Gateway, key: str, *, examples: int, admin: bool) -> list[str]:
    """Fuzz every operation; returns the failures as lines (empty: all passed)."""
    schema = load_schema(gateway)
    failures: list[str] = []
    seen = 0
    with httpx.Client(timeout=30) as http:
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            if admin and (operation.method.upper(), operation.path) in _ADMIN_SKIPS:
                continue
            seen += 1
            run_operation(operation, http, gateway, key, examples, failures.append)
    assert seen >= 20, f"only {seen} operations in the schema"
    return failures


def run_operation(
    operation: Any,
    http: httpx.Client,
    gateway: Gateway,
    key: str,
    examples: int,
    report: Callable[[str], None],
) -> None:
    strategy = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=examples <= 10,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=gateway.url)
        headers = {**(kwargs.pop("headers", None) or {}), "Authorization": f"Bearer {key}"}
        kwargs.pop("cookies", None)
        if isinstance(kwargs.get("data"), bytes | str):  # raw bodies go as content in httpx
            kwargs["content"] = kwargs.pop("data")
        response = http.request(headers=headers, **kwargs)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except Exception as exc:  # collected: one run reports every operation that fails
            report(
                f"{operation.method.upper()} {operation.path}: {response.status_code} "
                f"{response.text[:300]!r} <- {case.as_curl_command()[:400]}: "
                f"{str(exc)[:400]}"
            )
            raise

    try:
        one()
    except BaseException as exc:  # already reported with its request above
        if not isinstance(exc, Exception | BaseExceptionGroup):
            raise


def fuzz_as(gateway: Gateway, keys: Keys, role: str, *, examples: int) -> None:
    key = keys.admin if role == "admin" else keys.member
    failures = fuzz(gateway, key, examples=examples, admin=role == "admin")
    assert not failures, "\n".join(failures)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("role", ["admin", "member"])
def test_short_fuzz_finds_no_server_errors(gateway: Gateway, keys: Keys, role: str) -> None:
    fuzz_as(gateway, keys, role, examples=4)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("role", ["admin", "member"])
def test_long_fuzz_finds_no_server_errors(gateway: Gateway, keys: Keys, role: str) -> None:
    fuzz_as(gateway, keys, role, examples=150)

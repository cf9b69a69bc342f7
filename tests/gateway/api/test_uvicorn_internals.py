"""The uvicorn internals the HTTP front drives are there, and a change to them is named."""

from __future__ import annotations

from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.api import UvicornInternalsError, missing_uvicorn_internals, require_uvicorn_internals


def test_this_uvicorn_has_every_internal_the_front_drives() -> None:
    missing = missing_uvicorn_internals()
    assert not missing, (
        "the installed uvicorn changed internals gateway/api/http/_front.py and _http.py rely on: "
        + ", ".join(missing)
    )
    require_uvicorn_internals()


class _WithoutPipeline(HttpToolsProtocol):
    """uvicorn as a release that renamed its pipelining queue would be."""

    def __getattribute__(self, name: str) -> Any:
        if name == "pipeline":
            raise AttributeError(name)
        return super().__getattribute__(name)


class _WithoutExpect100(HttpToolsProtocol):
    """uvicorn as a release that keeps ``Expect: 100-continue`` elsewhere would be."""

    def __getattribute__(self, name: str) -> Any:
        if name == "expect_100_continue":
            raise AttributeError(name)
        return super().__getattribute__(name)


@pytest.mark.parametrize(
    ("protocol", "named"),
    [(_WithoutPipeline, "HttpToolsProtocol.pipeline"), (_WithoutExpect100, "expect_100_continue")],
)
def test_a_missing_internal_is_named(protocol: type, named: str) -> None:
    missing = missing_uvicorn_internals(protocol)
    assert len(missing) == 1
    assert named in missing[0]


def test_the_gateway_refuses_to_start_naming_it() -> None:
    with pytest.raises(UvicornInternalsError, match=r"lacks .*HttpToolsProtocol\.pipeline"):
        require_uvicorn_internals(_WithoutPipeline)

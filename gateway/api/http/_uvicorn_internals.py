"""The uvicorn internals the HTTP front drives, checked once when the gateway starts.

``GatewayHttpProtocol`` (``_front``) and the protocols in ``_http`` subclass uvicorn's httptools
protocol and read its private per-connection and per-request state; the CLI's server overrides
``Server.capture_signals``. pyproject pins uvicorn and httptools; when an upgrade moves one of
these names the gateway refuses to start, naming it (and a test fails the same way), instead of
raising an ``AttributeError`` inside a request.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["UvicornInternalsError", "missing_uvicorn_internals", "require_uvicorn_internals"]

# Read on the protocol once a connection is made (connection_made and __init__ set them).
_PER_CONNECTION = (
    "app",
    "loop",
    "transport",
    "flow",
    "server_state",
    "parser",
    "cycle",
    "pipeline",
    "root_path",
    "limit_concurrency",
    "connections",
    "tasks",
    "logger",
)
# Read on the protocol in on_headers_complete, as uvicorn's own callbacks leave them.
_PER_REQUEST = ("url", "headers", "expect_100_continue")
_METHODS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_header",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
    "on_response_complete",
    "_start_asgi_task",
    # _http.py's data_received restates uvicorn's, calling these
    "_unset_keepalive_if_required",
    "send_400_response",
    "_should_upgrade",
    "handle_websocket_upgrade",
    "_unsupported_upgrade_warning",
)
_PARSER = (
    "get_method",
    "should_upgrade",
    "get_http_version",
    "should_keep_alive",
    "feed_data",
)
_FLOW = ("write_paused", "drain", "pause_reading")

_IMPL = "uvicorn.protocols.http.httptools_impl"


class UvicornInternalsError(RuntimeError):
    """This uvicorn lacks internals the gateway's HTTP front needs."""


def require_uvicorn_internals(protocol: type | None = None) -> None:
    """Raise ``UvicornInternalsError`` naming every internal this uvicorn lacks."""
    missing = missing_uvicorn_internals(protocol)
    if missing:
        from importlib.metadata import version

        raise UvicornInternalsError(
            f"uvicorn {version('uvicorn')} lacks what ragway's HTTP front drives: "
            f"{', '.join(missing)}; install the uvicorn and httptools versions pinned in "
            "pyproject.toml (make test checks a new release before the pin moves)"
        )


def missing_uvicorn_internals(protocol: type | None = None) -> list[str]:
    """The dotted names of the internals this uvicorn lacks (empty when all are there).

    ``protocol`` stands in for uvicorn's ``HttpToolsProtocol`` (tests hand in a changed one).
    """
    import uvicorn
    from uvicorn.protocols.http import httptools_impl

    names = ("STATUS_LINE", "HttpToolsProtocol")
    missing = [f"{_IMPL}.{n}" for n in names if not hasattr(httptools_impl, n)]
    if not hasattr(uvicorn.Server, "capture_signals"):
        missing.append("uvicorn.Server.capture_signals")
    base: Any = protocol or getattr(httptools_impl, "HttpToolsProtocol", None)
    if base is None:
        return missing
    missing += [f"{_IMPL}.HttpToolsProtocol.{n}" for n in _METHODS if not hasattr(base, n)]
    if missing:
        return missing
    try:
        return _probe(base)
    except Exception as exc:  # noqa: BLE001 - any failure to drive it is the finding
        return [f"{_IMPL}.HttpToolsProtocol (driving one request failed: {exc!r})"]


def _probe(base: Any) -> list[str]:
    """Drive one connection through a subclass of uvicorn's protocol up to the point where the
    front takes a request over, and list the attributes it would not find there."""
    import uvicorn
    from uvicorn.server import ServerState

    missing: list[str] = []
    where = f"{_IMPL}.HttpToolsProtocol"

    class Probe(base):  # type: ignore[misc]
        def on_headers_complete(self) -> None:
            missing.extend(f"{where}.{n}" for n in _PER_REQUEST if not hasattr(self, n))
            parser = getattr(self, "parser", None)
            missing.extend(f"{where}.parser.{n}" for n in _PARSER if not hasattr(parser, n))

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called
        raise AssertionError("the probe serves no request")

    loop = asyncio.new_event_loop()
    try:
        config = uvicorn.Config(app, http="httptools", lifespan="off", log_config=None)
        config.load()
        state = ServerState()
        if not hasattr(state, "default_headers"):
            missing.append("uvicorn.server.ServerState.default_headers")
        protocol = Probe(config=config, server_state=state, app_state={}, _loop=loop)
        protocol.connection_made(_Transport())
        missing.extend(f"{where}.{n}" for n in _PER_CONNECTION if not hasattr(protocol, n))
        flow = getattr(protocol, "flow", None)
        missing.extend(f"uvicorn's FlowControl.{n}" for n in _FLOW if not hasattr(flow, n))
        protocol.data_received(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: probe\r\nContent-Length: 2\r\n\r\n"
        )
        protocol.connection_lost(None)
    finally:
        loop.close()
    return missing


class _Transport(asyncio.Transport):
    """Just enough of a socket transport for ``connection_made``; writes go nowhere."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

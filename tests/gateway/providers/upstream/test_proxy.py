"""Upstream calls through a real loopback forward proxy: CONNECT + TLS, absolute form, NO_PROXY."""

from __future__ import annotations

import base64

import pytest

from configs import UpstreamHttpSettings
from gateway.providers import OpenAIProvider, Target, proxy_rules
from gateway.providers.http import (
    HttpClient,
    HttpConnectError,
    HttpTlsError,
    NoProxy,
    ProxyRules,
    TransportOptions,
    Url,
)
from tests.gateway.providers.upstream.conftest import CHAT, post_chat
from tests.support.connect_proxy import ConnectProxy
from tests.support.fake_openai import FakeOpenAI
from tests.support.tls import TlsFiles, TlsFront


def env_client(env: dict[str, str], tls_files: TlsFiles) -> HttpClient:
    """The client as the gateway builds it: proxies read from ``env`` once."""
    settings = UpstreamHttpSettings(ca_bundle=str(tls_files.ca))
    return HttpClient(proxies=proxy_rules(settings, env=env), ca_bundle=settings.ca_bundle)


async def test_https_goes_through_a_connect_tunnel_with_tls_to_the_origin(
    tls_files: TlsFiles, front: TlsFront, proxy: ConnectProxy, fake_upstream: FakeOpenAI
) -> None:
    client = env_client({"HTTPS_PROXY": proxy.url}, tls_files)
    try:
        for _ in range(3):
            answer = await post_chat(client, Url.parse(front.base_url("/v1")))
            assert answer["object"] == "chat.completion"
    finally:
        await client.aclose()
    assert proxy.connects() == [f"localhost:{front.port}"]  # one tunnel, kept alive
    assert front.connections == 1
    assert fake_upstream.requests[-1].path == "/v1/chat/completions"
    assert fake_upstream.requests[-1].headers["host"] == f"localhost:{front.port}"


async def test_proxy_credentials_become_basic_proxy_authorization(
    tls_files: TlsFiles, front: TlsFront, auth_proxy: ConnectProxy
) -> None:
    client = env_client({"https_proxy": auth_proxy.url}, tls_files)
    try:
        await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    expected = "Basic " + base64.b64encode(b"alice:s3cr@t:pw").decode()
    assert [r.authorization for r in auth_proxy.requests] == [expected]


async def test_a_refused_connect_names_the_proxy_but_not_its_password(
    tls_files: TlsFiles, front: TlsFront, auth_proxy: ConnectProxy
) -> None:
    wrong = auth_proxy.url.replace("s3cr%40t%3Apw", "wrong-pw")
    client = env_client({"HTTPS_PROXY": wrong}, tls_files)
    try:
        with pytest.raises(HttpConnectError, match="407") as caught:
            await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    message = str(caught.value)
    assert f"127.0.0.1:{auth_proxy.port}" in message
    assert "wrong-pw" not in message
    assert "alice" not in message
    assert front.connections == 0


async def test_plain_http_goes_in_absolute_form(
    tls_files: TlsFiles, proxy: ConnectProxy, fake_upstream: FakeOpenAI
) -> None:
    client = env_client({"HTTP_PROXY": proxy.url}, tls_files)
    url = Url.parse(fake_upstream.base_url)
    try:
        for _ in range(2):
            await post_chat(client, url)
    finally:
        await client.aclose()
    target = f"http://127.0.0.1:{fake_upstream.port}/v1/chat/completions"
    assert [(r.method, r.target) for r in proxy.requests] == [("POST", target)] * 2
    assert fake_upstream.requests[-1].path == "/v1/chat/completions"


@pytest.mark.parametrize(
    "no_proxy",
    [
        "localhost",
        ".localhost",
        "*",
        "example.com, localhost:{port}",
        "127.0.0.0/8",
        "::1,127.0.0.1",
    ],
)
async def test_no_proxy_goes_direct(
    tls_files: TlsFiles, front: TlsFront, proxy: ConnectProxy, no_proxy: str
) -> None:
    host = "127.0.0.1" if "127." in no_proxy else "localhost"
    env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": no_proxy.format(port=front.port)}
    client = env_client(env, tls_files)
    try:
        await post_chat(client, Url.parse(front.base_url("/v1", host=host)))
    finally:
        await client.aclose()
    assert proxy.requests == []
    assert front.connections == 1


async def test_no_proxy_for_another_port_still_uses_the_proxy(
    tls_files: TlsFiles, front: TlsFront, proxy: ConnectProxy
) -> None:
    env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": f"localhost:{front.port + 1},10.0.0.0/8"}
    client = env_client(env, tls_files)
    try:
        await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    assert proxy.connects() == [f"localhost:{front.port}"]


async def test_a_deployment_proxy_setting_overrides_the_environment(
    tls_files: TlsFiles, front: TlsFront, proxy: ConnectProxy
) -> None:
    """Environment: no proxy. One deployment names the proxy, another says ``direct``."""
    client = HttpClient(
        proxies=ProxyRules(https=None, http=None, no_proxy=NoProxy("")),
        ca_bundle=str(tls_files.ca),
    )
    provider = OpenAIProvider(client=client)
    base = front.base_url("/v1")
    proxied = Target("proxied", base, "gpt-test", transport=TransportOptions(proxy=proxy.url))
    direct = Target("direct", base, "gpt-test", transport=TransportOptions(proxy="direct"))
    try:
        await provider.chat(proxied, dict(CHAT))
        await provider.chat(direct, dict(CHAT))
        await provider.chat(proxied, dict(CHAT))
    finally:
        await client.aclose()
    assert proxy.connects() == [f"localhost:{front.port}"]
    assert front.connections == 2  # one through the tunnel, one direct


async def test_the_config_proxy_wins_over_the_environment_and_direct_ignores_it(
    tls_files: TlsFiles, front: TlsFront, proxy: ConnectProxy
) -> None:
    env = {"HTTPS_PROXY": "http://127.0.0.1:9"}  # nothing listens there
    configured = UpstreamHttpSettings(proxy=proxy.url)
    assert proxy_rules(configured, env=env).select("https", "localhost", 443) is not None
    direct = proxy_rules(UpstreamHttpSettings(proxy="direct"), env=env)
    assert direct.select("https", "localhost", front.port) is None
    client = HttpClient(proxies=proxy_rules(configured, env=env), ca_bundle=str(tls_files.ca))
    try:
        await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    assert proxy.connects() == [f"localhost:{front.port}"]


async def test_an_unreachable_proxy_is_a_connect_error_naming_it(
    tls_files: TlsFiles, front: TlsFront
) -> None:
    client = env_client({"HTTPS_PROXY": "http://user:hunter2@127.0.0.1:9"}, tls_files)
    try:
        with pytest.raises(HttpConnectError, match=r"proxy 127\.0\.0\.1:9\b") as caught:
            await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    assert "hunter2" not in str(caught.value)


async def test_an_untrusted_certificate_behind_the_proxy_is_a_tls_error(
    rogue_front: TlsFront, proxy: ConnectProxy, tls_files: TlsFiles
) -> None:
    client = env_client({"HTTPS_PROXY": proxy.url}, tls_files)
    try:
        with pytest.raises(HttpTlsError, match="TLS certificate verification failed"):
            await post_chat(client, Url.parse(rogue_front.base_url("/v1")))
    finally:
        await client.aclose()
    assert proxy.connects() == [f"localhost:{rogue_front.port}"]
    assert rogue_front.connections == 0


def test_the_tunnel_works_on_uvloop(
    tls_files: TlsFiles, front: TlsFront, proxy: ConnectProxy
) -> None:
    """``ragway gateway`` serves on uvloop: CONNECT + start_tls must work on its loop too."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        client = env_client({"HTTPS_PROXY": proxy.url}, tls_files)
        try:
            for _ in range(3):
                await post_chat(client, Url.parse(front.base_url("/v1")))
        finally:
            await client.aclose()

    uvloop.run(main())
    assert proxy.connects() == [f"localhost:{front.port}"]
    assert front.connections == 1

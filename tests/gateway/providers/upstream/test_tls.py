"""TLS to upstreams: a loopback HTTPS server whose certificate a throwaway CA signed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.providers import OpenAIProvider, Target, UpstreamConnectError
from gateway.providers.http import HttpClient, HttpTlsError, TransportOptions, Url
from tests.gateway.providers.upstream.conftest import CHAT, post_chat
from tests.support.fake_openai import FakeOpenAI
from tests.support.tls import TlsFiles, TlsFront


async def test_a_configured_ca_bundle_verifies_and_connections_are_reused(
    tls_files: TlsFiles, front: TlsFront, fake_upstream: FakeOpenAI
) -> None:
    client = HttpClient(ca_bundle=str(tls_files.ca))
    url = Url.parse(front.base_url("/v1"))
    try:
        for _ in range(4):
            answer = await post_chat(client, url)
            assert answer["object"] == "chat.completion"
    finally:
        await client.aclose()
    assert front.connections == 1  # one TLS handshake, then keep-alive
    assert fake_upstream.requests[-1].path == "/v1/chat/completions"


async def test_an_ip_address_is_verified_against_the_certificate(
    tls_files: TlsFiles, front: TlsFront
) -> None:
    client = HttpClient(ca_bundle=str(tls_files.ca))
    try:
        await post_chat(client, Url.parse(front.base_url("/v1", host="127.0.0.1")))
    finally:
        await client.aclose()


async def test_an_untrusted_certificate_is_a_tls_verification_error(front: TlsFront) -> None:
    client = HttpClient()  # the system trust store: the throwaway CA is not in it
    try:
        with pytest.raises(HttpTlsError, match="TLS certificate verification failed") as caught:
            await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    assert f"localhost:{front.port}" in str(caught.value)
    assert front.connections == 0


async def test_a_deployment_ca_bundle_overrides_the_client_default(
    tls_files: TlsFiles, rogue_files: TlsFiles, front: TlsFront, rogue_front: TlsFront
) -> None:
    """The client trusts one CA; a deployment names the other CA's bundle for its upstream."""
    client = HttpClient(ca_bundle=str(tls_files.ca))
    provider = OpenAIProvider(client=client)
    rogue = Target(
        deployment="rogue",
        base_url=rogue_front.base_url("/v1"),
        upstream_model="gpt-test",
        timeout_s=5,
    )
    own_ca = Target(
        deployment="own-ca",
        base_url=rogue_front.base_url("/v1"),
        upstream_model="gpt-test",
        timeout_s=5,
        transport=TransportOptions(ca_bundle=str(rogue_files.ca)),
    )
    try:
        with pytest.raises(UpstreamConnectError, match="rogue: TLS certificate verification"):
            await provider.chat(rogue, dict(CHAT))
        answer = await provider.chat(own_ca, dict(CHAT))
        assert answer["object"] == "chat.completion"
        # the same origin, other options: its own pool, never the verified connection
        with pytest.raises(UpstreamConnectError, match="TLS certificate verification"):
            await provider.chat(rogue, dict(CHAT))
    finally:
        await client.aclose()


async def test_verify_false_accepts_any_certificate(front: TlsFront) -> None:
    client = HttpClient(verify=False)
    try:
        await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()
    assert front.connections == 1


async def test_an_unreadable_ca_bundle_is_a_tls_error_not_a_crash(
    tmp_path: Path, front: TlsFront
) -> None:
    garbage = tmp_path / "not-a-ca.pem"
    garbage.write_text("not a certificate")
    client = HttpClient(ca_bundle=str(garbage))
    try:
        with pytest.raises(HttpTlsError, match="cannot load the CA bundle"):
            await post_chat(client, Url.parse(front.base_url("/v1")))
    finally:
        await client.aclose()

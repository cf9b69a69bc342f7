"""The SSRF guard: what may be a webhook target, checked before any connection."""

from __future__ import annotations

import ipaddress

import pytest

from ingestion.webhooks import TargetRefusedError, is_public_address, parse_target, resolve_target


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared (CGNAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "https://user:secret@example.com/hook",
        "https:///no-host",
        "not a url",
        "https://example.com/" + "a" * 3000,
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefusedError) as refused:
        parse_target(url, max_length=2048)
    assert refused.value.code == "invalid_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",  # a name that resolves to loopback
        "http://10.0.0.1/",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
        "http://[::1]:9000/",
    ],
)
async def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    target = parse_target(url, max_length=2048)
    with pytest.raises(TargetRefusedError) as refused:
        await resolve_target(target, allow_private=False)
    assert refused.value.code == "private_target"
    allowed = await resolve_target(target, allow_private=True)
    assert allowed.address is not None
    assert str(allowed.connect_url()).startswith("http://")


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    target = parse_target("https://no-such-host.invalid/hook", max_length=2048)
    with pytest.raises(TargetRefusedError) as refused:
        await resolve_target(target, allow_private=True)
    assert refused.value.code == "unresolvable_host"


async def test_the_connection_goes_to_the_checked_address_under_the_name() -> None:
    target = await resolve_target(
        parse_target("http://localhost:8123/hooks?x=1", max_length=2048), allow_private=True
    )
    assert target.address is not None
    assert target.address.is_loopback
    connect = target.connect_url()
    assert connect.host == str(target.address)
    assert connect.port == 8123
    assert connect.raw_path == b"/hooks?x=1"
    assert target.host_header() == "localhost:8123"

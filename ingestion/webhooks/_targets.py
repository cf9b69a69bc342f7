"""The SSRF guard: which URLs a webhook may be delivered to, and the address to connect to.

A URL must be ``http`` or ``https`` with a host, no credentials and a bounded length. Its
host is resolved and refused if *any* address it resolves to is not public: loopback,
private, link-local, shared (CGNAT), multicast, reserved, unspecified, documentation ranges,
and the same inside IPv4-mapped, 6to4 and NAT64 IPv6 addresses. The check runs when an
endpoint is saved and again at every delivery, and a delivery connects to the address that
was checked (the ``Host`` header and TLS server name stay the URL's), so a name that is
re-pointed (DNS rebinding) between the check and the connection cannot reach an internal
address. ``allow_private_targets`` turns the address check off (local receivers, tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from ingestion.webhooks._errors import TargetRefusedError

__all__ = ["Target", "is_public_address", "parse_target", "resolve_target"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: what to connect to and how to name the host there."""

    url: httpx.URL
    address: IPAddress | None = None  # set once resolved

    @property
    def host(self) -> str:
        """The host as sent on the wire (IDNA-encoded; an IPv6 literal without brackets)."""
        return self.url.raw_host.decode("ascii")

    def connect_url(self) -> httpx.URL:
        """The URL with the checked address in place of the name."""
        if self.address is None:
            raise ValueError("resolve the target first")
        return self.url.copy_with(host=str(self.address))

    def host_header(self) -> str:
        """The ``Host`` header of the URL (httpx drops a scheme's default port)."""
        return self.url.netloc.decode("ascii")


def parse_target(url: str, *, max_length: int) -> Target:
    """Syntax only (no DNS); raises :class:`TargetRefusedError` (``invalid_url``)."""
    if len(url) > max_length:
        raise TargetRefusedError("invalid_url", f"the URL is longer than {max_length} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise TargetRefusedError("invalid_url", f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise TargetRefusedError("invalid_url", "the URL must start with https:// or http://")
    if not parsed.host:
        raise TargetRefusedError("invalid_url", "the URL has no host")
    if parsed.userinfo:
        raise TargetRefusedError("invalid_url", "the URL may not hold a user name or password")
    return Target(parsed)


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (IPv4-mapped IPv6 as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if address in _NAT64:  # a NAT64 gateway would connect to the IPv4 address inside
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None:
            return is_public_address(mapped)
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


async def resolve_target(target: Target, *, allow_private: bool) -> Target:
    """``target`` with the address to connect to; refused (``unresolvable_host``,
    ``private_target``) unless every address the host resolves to is public."""
    addresses = await _resolve(target.host, target.url.port)
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise TargetRefusedError(
                "private_target",
                f"{target.host} resolves to {refused[0]}, which is not a public address "
                "(webhooks.allow_private_targets allows such targets)",
            )
    return Target(target.url, addresses[0])


async def _resolve(host: str, port: int | None) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]  # a literal address needs no lookup
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefusedError("unresolvable_host", f"{host} does not resolve") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefusedError("unresolvable_host", f"{host} does not resolve")
    return addresses

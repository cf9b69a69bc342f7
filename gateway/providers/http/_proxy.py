"""Forward proxies for upstream calls: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``.

- curl's, requests' and httpx's semantics: ``https_proxy`` for https upstreams, ``http_proxy``
  for http ones (lower case, then upper case, then ``ALL_PROXY``); ``NO_PROXY`` hosts go direct.
- Resolved once per origin, when its connection pool is first needed; never per request.
- Only ``http://`` proxies: https upstreams go through a ``CONNECT`` tunnel with TLS to the
  origin inside it, http upstreams in absolute form (``POST http://host/path``), since common
  proxies (squid's default configuration among them) allow ``CONNECT`` to port 443 only.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = ["NoProxy", "Proxy", "ProxyRules"]

_IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Proxy:
    """An ``http://[user:pass@]host:port`` proxy. ``repr`` and ``label`` hide the credentials."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # "Basic ..." or None

    @classmethod
    def parse(cls, url: str) -> Proxy:
        """A proxy URL; without a scheme ``http://`` is assumed (as curl and requests do)."""
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(
                f"only http:// proxies are supported, not {parts.scheme}:// "
                "(https upstreams are still tunnelled with TLS end to end)"
            )
        try:
            port = parts.port or 80
        except ValueError as exc:
            raise ValueError(f"a proxy URL has an invalid port: {_redact(url)}") from exc
        if not parts.hostname:
            raise ValueError(f"a proxy URL names no host: {_redact(url)}")
        authorization = None
        if parts.username is not None:
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(secret.encode()).decode("ascii")
        return cls(parts.hostname, port, authorization)

    @property
    def label(self) -> str:
        """``host:port``, for errors and logs."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class NoProxy:
    """The hosts a ``NO_PROXY`` value exempts from the proxy.

    Entries, comma separated: ``*`` (everything), a host name (itself and its subdomains;
    a leading ``.`` or ``*.`` is allowed), an IP address, a CIDR range (matched against
    upstreams given by IP address; names are not resolved for it), any of these with
    ``:port`` to exempt only that port (IPv6 as ``[::1]:8080``).
    """

    __slots__ = ("_all", "_domains", "_ips", "_networks")

    def __init__(self, value: str = "") -> None:
        self._all = False
        self._domains: list[tuple[str, int | None]] = []
        self._ips: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int | None]] = []
        self._networks: list[_IpNetwork] = []
        for raw in value.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                self._all = True
            elif "/" in entry:
                try:
                    self._networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    continue  # not a range: ignored, as curl and requests ignore bad entries
            else:
                host, port = _split_port(entry)
                try:
                    self._ips.append((ipaddress.ip_address(host), port))
                except ValueError:
                    domain = host.removeprefix("*").lstrip(".")
                    if domain:
                        self._domains.append((domain, port))

    def matches(self, host: str, port: int) -> bool:
        """Whether ``host:port`` is reached directly."""
        if self._all:
            return True
        host = host.lower().strip("[]").rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return any(
                (host == domain or host.endswith("." + domain)) and want in (None, port)
                for domain, want in self._domains
            )
        if any(address == ip and want in (None, port) for ip, want in self._ips):
            return True
        return any(address in network for network in self._networks)


@dataclass(frozen=True, slots=True)
class ProxyRules:
    """Which proxy, if any, each upstream origin goes through."""

    https: Proxy | None = None
    http: Proxy | None = None
    no_proxy: NoProxy = field(default_factory=NoProxy)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProxyRules:
        """``https_proxy`` / ``http_proxy`` / ``all_proxy`` / ``no_proxy``, either case."""
        fallback = _env(env, "all_proxy")
        https = _env(env, "https_proxy") or fallback
        http = _env(env, "http_proxy") or fallback
        return cls(
            https=_parse_env(https, "HTTPS_PROXY"),
            http=_parse_env(http, "HTTP_PROXY"),
            no_proxy=NoProxy(_env(env, "no_proxy") or ""),
        )

    def select(self, scheme: str, host: str, port: int) -> Proxy | None:
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.no_proxy.matches(host, port):
            return None
        return proxy


def _env(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or env.get(name.upper()) or None


def _parse_env(value: str | None, name: str) -> Proxy | None:
    if value is None:
        return None
    try:
        return Proxy.parse(value.strip())
    except ValueError as exc:
        raise ValueError(f"${name}: {exc}") from None


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    else:
        return entry, None  # a name, or a bare IPv6 address
    return host, int(port) if port.isdigit() else None


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None:
        return url
    return url.replace(parts.netloc, parts.netloc.rpartition("@")[2], 1)

"""The process's upstream HTTP client and each deployment's transport options, from settings.

Proxy variables are read here, once, from the environment the gateway was started with.
"""

from __future__ import annotations

from collections.abc import Mapping

from configs import BaseDeploymentSettings, UpstreamHttpSettings
from gateway.providers.http import HttpClient, NoProxy, Proxy, ProxyRules, TransportOptions

__all__ = ["open_http_client", "proxy_rules", "transport_options"]


def open_http_client(settings: UpstreamHttpSettings, *, env: Mapping[str, str]) -> HttpClient:
    """The one upstream client of a gateway process (``providers.http``)."""
    return HttpClient(
        max_idle_per_host=settings.max_idle_per_host,
        idle_timeout_s=settings.idle_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
        proxies=proxy_rules(settings, env=env),
        ca_bundle=settings.ca_bundle,
        verify=settings.verify,
    )


def proxy_rules(settings: UpstreamHttpSettings, *, env: Mapping[str, str]) -> ProxyRules:
    """``providers.http.proxy`` / ``no_proxy`` where set, else the environment's variables.

    A bad proxy variable or setting stops start-up (``ValueError``, credentials left out)
    rather than sending upstream traffic around the proxy an operator asked for.
    """
    if settings.proxy == "direct":
        return ProxyRules()
    if settings.no_proxy is not None:
        no_proxy = NoProxy(settings.no_proxy)
    else:
        no_proxy = NoProxy(env.get("no_proxy") or env.get("NO_PROXY") or "")
    if settings.proxy is None:
        from_env = ProxyRules.from_env(env)
        return ProxyRules(https=from_env.https, http=from_env.http, no_proxy=no_proxy)
    proxy = _parse(settings.proxy, "providers.http.proxy")
    return ProxyRules(https=proxy, http=proxy, no_proxy=no_proxy)


def transport_options(deployment: BaseDeploymentSettings) -> TransportOptions | None:
    """The deployment's own proxy / TLS settings; None when it has none (the usual case).

    Called at start: a bad proxy URL stops start-up (``ValueError``, credentials left out).
    """
    if deployment.proxy is None and deployment.ca_bundle is None and deployment.verify is None:
        return None
    if deployment.proxy is not None and deployment.proxy != "direct":
        _parse(deployment.proxy, f"deployment {deployment.name!r}: proxy")
    return TransportOptions(
        proxy=deployment.proxy, ca_bundle=deployment.ca_bundle, verify=deployment.verify
    )


def _parse(url: str, where: str) -> Proxy:
    try:
        return Proxy.parse(url)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None

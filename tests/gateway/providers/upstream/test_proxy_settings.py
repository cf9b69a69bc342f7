"""How proxy variables and settings are read: the semantics curl, requests and httpx share."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from configs import DeploymentSettings, UpstreamHttpSettings
from gateway.providers import proxy_rules, transport_options
from gateway.providers.http import NoProxy, Proxy, ProxyRules, TransportOptions

_deployment = TypeAdapter(DeploymentSettings).validate_python


def test_lower_case_wins_then_upper_case_then_all_proxy() -> None:
    rules = ProxyRules.from_env(
        {
            "https_proxy": "http://lower:1",
            "HTTPS_PROXY": "http://upper:2",
            "ALL_PROXY": "http://all:3",
        }
    )
    assert rules.https == Proxy("lower", 1)
    assert rules.http == Proxy("all", 3)
    assert ProxyRules.from_env({"HTTP_PROXY": "proxy.corp:3128"}).http == Proxy("proxy.corp", 3128)
    assert ProxyRules.from_env({"HTTPS_PROXY": ""}).https is None


def test_credentials_are_decoded_and_hidden() -> None:
    proxy = Proxy.parse("http://us%40er:p%3Ass@proxy:8080")
    assert proxy.authorization == "Basic dXNAZXI6cDpzcw=="  # base64("us@er:p:ss")
    assert "p:ss" not in repr(proxy)
    assert "dXNAZXI" not in repr(proxy)
    assert proxy.label == "proxy:8080"


@pytest.mark.parametrize("url", ["https://proxy:443", "socks5://proxy:1080"])
def test_only_http_proxies_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="only http:// proxies"):
        ProxyRules.from_env({"HTTPS_PROXY": url})


def test_a_proxy_error_does_not_echo_the_password() -> None:
    with pytest.raises(ValueError, match="invalid port") as caught:
        Proxy.parse("http://user:topsecret@proxy:99999")
    assert "topsecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("rules", "host", "port", "direct"),
    [
        ("example.com", "example.com", 443, True),
        ("example.com", "api.example.com", 443, True),
        ("example.com", "badexample.com", 443, False),
        (".example.com", "api.example.com", 443, True),
        ("*.example.com", "api.example.com", 443, True),
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("10.1.2.3", "10.1.2.3", 80, True),
        ("[::1]:8080", "::1", 8080, True),
        ("::1", "0:0:0:0:0:0:0:1", 443, True),
        ("fd00::/8", "fd12::1", 443, True),
        ("*", "anything", 1, True),
        (" LOCALHOST , ", "localhost", 1, True),
        ("", "localhost", 1, False),
        ("not/a/range, x", "x", 1, True),
    ],
)
def test_no_proxy_forms(rules: str, host: str, port: int, direct: bool) -> None:
    assert NoProxy(rules).matches(host, port) is direct


def test_settings_no_proxy_replaces_the_environments() -> None:
    env = {"HTTPS_PROXY": "http://proxy:1", "NO_PROXY": "internal"}
    from_env = proxy_rules(UpstreamHttpSettings(), env=env)
    assert from_env.select("https", "internal", 443) is None
    assert from_env.select("https", "api.openai.com", 443) == Proxy("proxy", 1)
    configured = proxy_rules(UpstreamHttpSettings(no_proxy="api.openai.com"), env=env)
    assert configured.select("https", "internal", 443) == Proxy("proxy", 1)
    assert configured.select("https", "api.openai.com", 443) is None


def test_a_bad_proxy_setting_stops_start_up_without_echoing_its_password() -> None:
    bad = "socks5://bob:hunter2@proxy:1080"
    with pytest.raises(ValueError, match=r"providers\.http\.proxy: only http://") as caught:
        proxy_rules(UpstreamHttpSettings(proxy=bad), env={})
    assert "hunter2" not in str(caught.value)
    base = {"name": "d", "provider": "openai", "model": "m", "base_url": "https://x"}
    deployment = _deployment({**base, "proxy": bad})
    with pytest.raises(ValueError, match="deployment 'd': proxy: only http://") as caught:
        transport_options(deployment)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValueError, match=r"\$HTTPS_PROXY") as caught:
        proxy_rules(UpstreamHttpSettings(), env={"HTTPS_PROXY": "http://bob:hunter2@proxy:x"})
    assert "hunter2" not in str(caught.value)


def test_ca_and_max_tokens_settings_are_checked_at_load() -> None:
    with pytest.raises(ValidationError, match="no such file"):
        UpstreamHttpSettings(ca_bundle="/nonexistent/ca.pem")
    base = {"name": "d", "provider": "openai", "model": "m", "base_url": "https://x"}
    with pytest.raises(ValidationError, match="anthropic deployments only"):
        _deployment({**base, "default_max_tokens": 100})
    plain = _deployment(base)
    assert transport_options(plain) is None  # the usual case: no per-deployment transport
    own = _deployment({**base, "proxy": "direct", "verify": False})
    assert transport_options(own) == TransportOptions(proxy="direct", verify=False)

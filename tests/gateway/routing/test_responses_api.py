"""``responses_api``: how /v1/responses reaches each deployment, resolved when routes are built."""

from __future__ import annotations

from pathlib import Path

import pytest

from configs import SettingsError, load_settings
from gateway.providers.routing import build_routes

_MODELS = "providers:\n  models:\n    m:\n      deployments:\n"
_AZURE = "provider: azure, base_url: 'https://r', api_version: v"


def _load(tmp_path: Path, *deployments: str) -> Path:
    path = tmp_path / "ragway.yaml"
    lines = [f"        - {{name: d{i}, model: x, {d}}}\n" for i, d in enumerate(deployments)]
    path.write_text(_MODELS + "".join(lines))
    return path


def test_openai_is_native_unless_told_and_the_others_translate(tmp_path: Path) -> None:
    path = _load(
        tmp_path,
        "provider: openai, base_url: 'http://h/v1'",
        "provider: openai, base_url: 'http://h/v1', responses_api: translate",
        "provider: openai, base_url: 'http://h/v1', responses_api: native",
        _AZURE,
        "provider: anthropic, base_url: 'https://a'",
    )
    models = load_settings(config_files=[path], env={}).providers.models
    routes = build_routes(models, env={}, breaker_failures=1, breaker_cooldown_s=1.0)
    assert [d.responses_api for d in routes["m"].deployments] == [
        "native",
        "translate",
        "native",
        "translate",
        "translate",
    ]


@pytest.mark.parametrize("provider", [_AZURE, "provider: anthropic, base_url: 'https://a'"])
def test_native_is_for_openai_deployments_only(tmp_path: Path, provider: str) -> None:
    path = _load(tmp_path, f"{provider}, responses_api: native")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    assert "responses_api applies to openai deployments only" in str(info.value)


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    path = _load(tmp_path, "provider: openai, base_url: 'http://h/v1', responses_api: both")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    assert "responses_api" in str(info.value)

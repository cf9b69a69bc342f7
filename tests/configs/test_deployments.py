"""Deployments are one settings model per provider kind, picked by ``provider``."""

from __future__ import annotations

from pathlib import Path

import pytest

from configs import (
    AnthropicDeploymentSettings,
    AzureDeploymentSettings,
    OpenAIDeploymentSettings,
    SettingsError,
    load_settings,
)

_MODELS = "providers:\n  models:\n    m:\n      deployments:\n"


def _config(tmp_path: Path, deployment: str) -> Path:
    path = tmp_path / "ragway.yaml"
    path.write_text(_MODELS + f"        - {{name: d, model: x, {deployment}}}\n")
    return path


def _error(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env=env or {})
    return str(info.value)


def test_each_provider_gets_its_own_settings(tmp_path: Path) -> None:
    path = tmp_path / "ragway.yaml"
    path.write_text(
        _MODELS
        + "        - {name: a, provider: openai, model: x, base_url: 'http://h/v1'}\n"
        + "        - {name: b, provider: azure, model: x, base_url: 'https://r', "
        + "api_version: '2024-10-21'}\n"
        + "        - {name: c, provider: anthropic, model: x, base_url: 'https://a', "
        + "default_max_tokens: 512}\n"
    )
    openai, azure, anthropic = (
        load_settings(config_files=[path], env={}).providers.models["m"].deployments
    )
    assert isinstance(openai, OpenAIDeploymentSettings)
    assert isinstance(azure, AzureDeploymentSettings)
    assert azure.api_version == "2024-10-21"
    assert isinstance(anthropic, AnthropicDeploymentSettings)
    assert anthropic.default_max_tokens == 512
    assert anthropic.api_version is None


def test_azure_without_api_version_names_the_key(tmp_path: Path) -> None:
    path = _config(tmp_path, "provider: azure, base_url: 'https://r'")
    assert f"{path}: 'providers.models.m.deployments.0.api_version': Field required" in _error(path)


def test_a_key_of_another_provider_says_whose_it_is(tmp_path: Path) -> None:
    path = _config(tmp_path, "provider: openai, base_url: 'http://h/v1', default_max_tokens: 9")
    message = _error(path)
    assert f"{path}: 'providers.models.m.deployments.0'" in message
    assert "default_max_tokens applies to anthropic deployments only" in message
    path = _config(tmp_path, "provider: openai, base_url: 'http://h/v1', api_version: v")
    assert "api_version applies to azure and anthropic deployments only" in _error(path)


def test_an_unknown_provider_lists_the_known_ones(tmp_path: Path) -> None:
    path = _config(tmp_path, "provider: bedrock, base_url: 'http://h/v1'")
    message = _error(path)
    assert f"{path}: 'providers.models.m.deployments.0.provider': unknown provider" in message
    assert "'openai', 'azure', 'anthropic'" in message


def test_an_unknown_key_is_placed_without_the_provider_tag(tmp_path: Path) -> None:
    path = _config(tmp_path, "provider: anthropic, base_url: 'https://a', default_max_token: 9")
    message = _error(path)
    assert f"{path}: 'providers.models.m.deployments.0.default_max_token': unknown key" in message
    assert "did you mean 'default_max_tokens'" in message


def test_environment_overrides_reach_the_chosen_model(tmp_path: Path) -> None:
    path = _config(tmp_path, "provider: azure, base_url: 'https://r', api_version: v1")
    models = '{"m": {"deployments": [{"name": "d", "provider": "anthropic", "model": "x", '
    models += '"base_url": "https://a", "default_max_tokens": 7}]}}'
    settings = load_settings(config_files=[path], env={"RAGWAY_PROVIDERS__MODELS": models})
    (deployment,) = settings.providers.models["m"].deployments
    assert isinstance(deployment, AnthropicDeploymentSettings)
    assert deployment.default_max_tokens == 7

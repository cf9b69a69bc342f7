"""Settings: defaults, files, environment overrides, and errors that name the key and its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from configs import DEFAULT_CONFIG, SettingsError, load_settings


def write(tmp_path: Path, text: str, name: str = "ragway.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_describe_the_embedded_stack() -> None:
    settings = load_settings(config_files=[], env={})
    assert settings.gateway.port == 8080
    assert settings.data_dir == Path(".ragway")
    assert settings.database.url is None
    assert settings.redis.url is None
    assert settings.embedded.postgres
    assert settings.embedded.redis


def test_shipped_production_example_is_valid() -> None:
    example = DEFAULT_CONFIG.with_name("production.example.yaml")
    settings = load_settings(config_files=[example], env={})
    assert settings.gateway.workers == 4
    assert settings.database.migrate_on_start is False


def test_file_then_environment_override_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway:\n  port: 9000\n  workers: 2\n")
    settings = load_settings(
        config_files=[path],
        env={"RAGWAY_GATEWAY__PORT": "9100", "RAGWAY_WORKER__QUEUES": '["a", "b"]'},
    )
    assert settings.gateway.port == 9100
    assert settings.gateway.workers == 2
    assert settings.worker.queues == ("a", "b")


def test_conventional_urls_and_admin_key_come_from_the_environment() -> None:
    settings = load_settings(
        config_files=[],
        env={
            "DATABASE_URL": "postgresql://u:p@db/x",
            "REDIS_URL": "redis://r:6379/1",
            "RAGWAY_ADMIN_KEY": "k" * 32,
        },
    )
    assert settings.database.url is not None
    assert settings.database.url.get_secret_value() == "postgresql://u:p@db/x"
    assert settings.redis.url is not None
    assert settings.redis.url.get_secret_value() == "redis://r:6379/1"
    assert "postgresql://u:p@db/x" not in repr(settings)  # secrets are masked


def test_config_files_listed_in_ragway_config(tmp_path: Path) -> None:
    first = write(tmp_path, "gateway:\n  port: 9001\n", "a.yaml")
    second = write(tmp_path, "gateway:\n  workers: 3\n", "b.yaml")
    settings = load_settings(env={"RAGWAY_CONFIG": f"{first}:{second}"})
    assert (settings.gateway.port, settings.gateway.workers) == (9001, 3)


def test_unknown_key_names_key_file_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway:\n  prot: 9000\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    message = str(info.value)
    assert str(path) in message
    assert "'gateway.prot': unknown key" in message
    assert "did you mean 'port'" in message


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "gatway:\n  port: 9000\n")
    with pytest.raises(SettingsError, match=r"'gatway': unknown key \(did you mean 'gateway'"):
        load_settings(config_files=[path], env={})


def test_bad_value_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway:\n  port: lots\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    assert f"{path}: 'gateway.port'" in str(info.value)
    assert "'lots'" in str(info.value)


def test_errors_never_print_what_may_be_a_secret(tmp_path: Path) -> None:
    secret = "sk-live-" + "s3cr3t" * 4
    path = write(
        tmp_path,
        "providers:\n  models:\n    m:\n      deployments:\n"
        "        - name: d\n          provider: openai\n          model: x\n"
        "          base_url: http://127.0.0.1:1/v1\n"
        f"          headers: {{Authorization: [Bearer {secret[3:]}]}}\n"
        "gateway:\n  port: http://ops:hunter2@example.com\n",
    )
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    message = str(info.value)
    assert "headers" in message
    assert "gateway.port" in message
    assert "'http://***@example.com'" in message  # what was wrong stays visible
    assert secret[3:] not in message
    assert "hunter2" not in message


def test_out_of_range_value_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway:\n  port: 70000\n")
    with pytest.raises(SettingsError, match=r"gateway\.port"):
        load_settings(config_files=[path], env={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="environment variable RAGWAY_WORKER__THREADS"):
        load_settings(config_files=[], env={"RAGWAY_WORKER__THREADS": "many"})


def test_unknown_environment_setting_is_an_error() -> None:
    with pytest.raises(SettingsError, match=r"RAGWAY_GATEWAY__PROT.*did you mean 'port'"):
        load_settings(config_files=[], env={"RAGWAY_GATEWAY__PROT": "1"})


@pytest.mark.parametrize(
    ("text", "variable"),
    [
        ("database:\n  url: postgresql://x\n", "DATABASE_URL"),
        ("redis:\n  url: redis://x\n", "REDIS_URL"),
        ("admin_key: abc\n", "RAGWAY_ADMIN_KEY"),
    ],
)
def test_secrets_are_refused_in_files(tmp_path: Path, text: str, variable: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError, match=f"secret.*set {variable}"):
        load_settings(config_files=[path], env={})


def test_invalid_yaml_and_missing_file_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway: [unclosed\n")
    with pytest.raises(SettingsError, match="invalid YAML"):
        load_settings(config_files=[path], env={})
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(config_files=[tmp_path / "missing.yaml"], env={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")
    with pytest.raises(SettingsError, match="must be a mapping"):
        load_settings(config_files=[path], env={})


def test_settings_are_immutable() -> None:
    settings = load_settings(config_files=[], env={})
    with pytest.raises(ValueError, match="frozen"):
        settings.gateway.port = 1  # type: ignore[misc]


def test_unknown_key_in_a_union_member_names_its_file_without_the_tag(tmp_path: Path) -> None:
    path = write(
        tmp_path, "inference:\n  embedder:\n    kind: local\n    bogus: 1\n    model_nam: x\n"
    )
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    message = str(info.value)
    assert f"{path}: 'inference.embedder.bogus': unknown key" in message
    assert f"{path}: 'inference.embedder.model_nam': unknown key" in message
    assert "did you mean 'model_name'" in message
    assert str(DEFAULT_CONFIG) not in message
    assert ".local." not in message


def test_union_member_errors_name_the_variable_or_the_file_that_chose_the_kind(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[], env={"RAGWAY_INFERENCE__EMBEDDER__BOGUS": "1"})
    assert (
        "environment variable RAGWAY_INFERENCE__EMBEDDER__BOGUS: 'inference.embedder.bogus'"
        in str(info.value)
    )
    path = write(tmp_path, "inference:\n  embedder:\n    kind: remote\n    model: m\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    assert f"{path}: 'inference.embedder.base_url': Field required" in str(info.value)


def test_unknown_key_inside_mappings_and_lists_is_placed_and_suggested(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "providers:\n  models:\n    m:\n      deployments:\n"
        "        - {name: d, provider: openai, model: x, base_url: 'http://h/v1', wieght: 2}\n",
    )
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    message = str(info.value)
    assert f"{path}: 'providers.models.m.deployments.0.wieght': unknown key" in message
    assert "did you mean 'weight'" in message


def test_parsing_and_chunking_name_their_implementation(tmp_path: Path) -> None:
    settings = load_settings(config_files=[], env={})
    assert settings.ingestion.parsing.kind == "unstructured"
    assert settings.ingestion.chunking.kind == "tokens"
    path = write(tmp_path, "ingestion:\n  parsing:\n    strategy: auto\n")  # no kind: the default
    settings = load_settings(config_files=[path], env={})
    assert (settings.ingestion.parsing.kind, settings.ingestion.parsing.strategy) == (
        "unstructured",
        "auto",
    )


def test_an_unknown_kind_names_its_key_the_kinds_and_who_set_it(tmp_path: Path) -> None:
    path = write(tmp_path, "ingestion:\n  parsing:\n    kind: docling\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    assert (
        f"{path}: 'ingestion.parsing.kind': unknown kind, expected one of 'unstructured' "
        "(got 'docling')" in str(info.value)
    )
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[], env={"RAGWAY_INFERENCE__EMBEDDER__KIND": "bogus"})
    assert (
        "environment variable RAGWAY_INFERENCE__EMBEDDER__KIND: 'inference.embedder.kind': "
        "unknown kind, expected one of 'local', 'remote' (got 'bogus')" in str(info.value)
    )


def test_unknown_key_in_a_one_member_union_names_its_file_without_the_tag(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "ingestion:\n  chunking:\n    auto_overlap_tokens: 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config_files=[path], env={})
    message = str(info.value)
    assert f"{path}: 'ingestion.chunking.auto_overlap_tokens': unknown key" in message
    assert "did you mean 'auto_chunk_overlap_tokens'" in message
    assert ".tokens." not in message

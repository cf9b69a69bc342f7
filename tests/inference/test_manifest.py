"""The manifest is validated at start, with errors naming the file, model and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.errors import ManifestError
from inference.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    return path


def test_committed_manifest_parses() -> None:
    manifest = load_manifest(REPO / "models" / "manifest.yaml", check_files=False)
    tasks = {entry.task for entry in manifest.models}
    assert tasks == {"generate", "embed"}
    for entry in manifest.models:
        assert manifest.weights(entry).parent == (REPO / "models").resolve()


def test_unknown_option_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n- {name: m, path: m, task: generate, context_length: 64,"
        " vllm: {gpu_memory_utilisation: 0.5}}\n",
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(path, check_files=False)
    assert str(info.value) == (
        f"{path}: invalid model manifest:\n"
        "  model 'm': unknown option 'gpu_memory_utilisation'"
        " (did you mean 'gpu_memory_utilization'?)"
    )


def test_bad_values_are_each_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n"
        "- {name: a, path: a, task: embedd, context_length: 64}\n"
        "- {name: b, path: b, task: generate, context_length: 64, vllm: {max_model_len: 128}}\n"
        "- {name: c, path: c, task: embed, context_length: 64, vllm: {tool_call_parser: x}}\n"
        "- {path: d, task: generate, context_length: 64}\n"
        "- {name: a, path: e, task: generate, context_length: 64}\n",
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(path, check_files=False)
    message = str(info.value)
    assert "model 'a': 'task': Input should be 'generate' or 'embed' (got 'embedd')" in message
    assert "model 'b': vllm.max_model_len (128) exceeds context_length (64)" in message
    assert "model 'c': vllm.tool_call_parser applies to generate models only" in message
    assert "models[3]: 'name' is required" in message


def test_duplicate_names_and_empty_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n- {name: a, path: a, task: embed, context_length: 64}\n"
        "- {name: a, path: b, task: embed, context_length: 64}\n",
    )
    with pytest.raises(ManifestError, match="model name 'a' is listed twice"):
        load_manifest(path, check_files=False)
    with pytest.raises(ManifestError, match="'models' lists no model"):
        load_manifest(write(tmp_path, "models: []\n"), check_files=False)
    with pytest.raises(ManifestError, match="unknown option 'modles' \\(did you mean 'models'"):
        load_manifest(write(tmp_path, "modles: []\n"), check_files=False)


def test_missing_weights_and_template_are_named(tmp_path: Path) -> None:
    (tmp_path / "present").mkdir()
    (tmp_path / "present" / "config.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    path = write(
        tmp_path,
        "models:\n"
        "- {name: ok, path: present, task: generate, context_length: 64}\n"
        "- {name: gone, path: absent, task: generate, context_length: 64}\n"
        "- {name: hollow, path: empty, task: embed, context_length: 64}\n"
        "- {name: tpl, path: present, task: generate, context_length: 64,"
        " vllm: {chat_template: t.jinja}}\n",
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value).splitlines()[1:] == [
        f"  model 'gone': weights folder {tmp_path / 'absent'} does not exist",
        f"  model 'hollow': {tmp_path / 'empty'} has no config.json",
        f"  model 'tpl': chat template {tmp_path / 't.jinja'} does not exist",
    ]


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the model manifest"):
        load_manifest(tmp_path / "nope.yaml")
    with pytest.raises(ManifestError, match="invalid YAML"):
        load_manifest(write(tmp_path, "models: [\n"))
    with pytest.raises(ManifestError, match="must be a mapping"):
        load_manifest(write(tmp_path, "- a\n"))

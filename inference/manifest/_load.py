"""Read and check the manifest at start, with errors that name the file, model and key."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from inference.errors import ManifestError
from inference.manifest._models import Manifest, ModelEntry, VllmOptions

__all__ = ["load_manifest"]


def load_manifest(path: Path, *, check_files: bool = True) -> Manifest:
    """Parse ``path``; with ``check_files``, every weights folder and template must exist."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the model manifest: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: the top level must be a mapping with a 'models' list")
    try:
        manifest = Manifest.model_validate({**raw, "root": path.parent})
    except ValidationError as exc:
        raise ManifestError(_describe(path, raw, exc)) from exc
    if check_files:
        _check_files(path, manifest)
    return manifest


def _check_files(path: Path, manifest: Manifest) -> None:
    problems: list[str] = []
    for entry in manifest.models:
        weights = manifest.weights(entry)
        if not weights.is_dir():
            problems.append(f"model {entry.name!r}: weights folder {weights} does not exist")
        elif not (weights / "config.json").is_file():
            problems.append(f"model {entry.name!r}: {weights} has no config.json")
        template = manifest.chat_template(entry)
        if template is not None and not template.is_file():
            problems.append(f"model {entry.name!r}: chat template {template} does not exist")
    if problems:
        raise ManifestError(f"{path}:\n  " + "\n  ".join(problems))


def _describe(path: Path, raw: dict[str, Any], exc: ValidationError) -> str:
    lines = [f"{path}: invalid model manifest:"]
    for error in exc.errors():
        loc = [part for part in error["loc"] if part != "root"]
        where = _where(raw, loc)
        if error["type"] == "extra_forbidden":
            message = f"unknown option '{loc[-1]}'{_suggest(loc)}"
        elif error["type"] == "missing":
            message = f"'{loc[-1]}' is required"
        else:
            message = error["msg"].removeprefix("Value error, ")
            field = ".".join(str(p) for p in (loc[2:] if where != "manifest" else loc))
            if field:
                message = f"'{field}': {message} (got {error.get('input')!r})"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def _where(raw: dict[str, Any], loc: list[int | str]) -> str:
    """'model NAME' (or 'models[i]') for errors inside one entry, 'manifest' otherwise."""
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        models = raw.get("models")
        if isinstance(models, list) and loc[1] < len(models) and isinstance(models[loc[1]], dict):
            name = models[loc[1]].get("name")
            if isinstance(name, str):
                return f"model {name!r}"
        return f"models[{loc[1]}]"
    return "manifest"


def _suggest(loc: list[int | str]) -> str:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = VllmOptions if parents[-1:] == ["vllm"] else ModelEntry
    if parents == []:
        model = Manifest
    keys = [k for k in model.model_fields if k != "root"]
    close = difflib.get_close_matches(str(loc[-1]), list(keys), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""

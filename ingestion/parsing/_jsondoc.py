"""JSON and JSON Lines as structure-aware text: one ``key.path: value`` line per value.

A JSON document's top-level keys (or array items) are its sections, so a chunk holds one
subtree; a JSONL file's records are grouped one per line ("line 12" is the section), so
no chunk mixes two records. Keys paths make a value findable by the name of its field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._base import Element

__all__ = ["read_json", "read_jsonl"]

_MAX_VALUE_CHARS = 4000


def read_json(path: Path, *, filename: str) -> list[Element]:
    value = _load(path.read_bytes(), filename, "JSON")
    if isinstance(value, dict) and value:
        groups = [(str(key), _lines(item, str(key))) for key, item in value.items()]
    elif isinstance(value, list) and value:
        groups = [(f"[{index}]", _lines(item, f"[{index}]")) for index, item in enumerate(value)]
    else:
        groups = [("", _lines(value, ""))]
    return [
        Element(text="\n".join(lines), kind="NarrativeText", section=section or None)
        for section, lines in ((s, list(g)) for s, g in groups)
        if lines
    ]


def read_jsonl(path: Path, *, filename: str) -> list[Element]:
    elements: list[Element] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            record = _load(raw, filename, f"JSON on line {number}")
            lines = list(_lines(record, ""))
            if lines:
                elements.append(
                    Element(text="\n".join(lines), kind="NarrativeText", section=f"line {number}")
                )
    return elements


def _load(data: bytes, filename: str, what: str) -> object:
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} is not valid {what}: not UTF-8 text"
        ) from exc
    except json.JSONDecodeError as exc:
        raise DocumentRejectedError(
            "invalid_file",
            f"{filename!r} is not valid {what}: {exc.msg} (line {exc.lineno} column {exc.colno})",
        ) from exc
    except RecursionError as exc:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} is not valid {what}: nested too deeply"
        ) from exc


def _lines(value: object, path: str) -> Iterator[str]:
    """``path: value`` for every scalar under ``value`` (iteratively: deep nesting is fine)."""
    stack: list[tuple[str, object]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            stack.extend(
                (f"{where}.{key}" if where else str(key), child)
                for key, child in reversed(item.items())
            )
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in reversed(list(enumerate(item))))
        elif item is not None and item != "":
            text = item if isinstance(item, str) else json.dumps(item)
            text = " ".join(text.split())[:_MAX_VALUE_CHARS]
            yield f"{where}: {text}" if where else text

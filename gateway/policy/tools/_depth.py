"""How deeply JSON values nest, measured without recursion.

The tool checks hand schemas and arguments to ``jsonschema`` (and later hooks walk the
arguments), all recursive: a value nested thousands of levels deep would end in a
``RecursionError``. ``MAX_DEPTH`` levels are far more than any real tool needs and leave
those walks well inside the interpreter's recursion limit.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "deeper_than", "json_text_deeper_than"]

MAX_DEPTH = 64


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` nests objects and arrays more than ``limit`` levels deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_text_deeper_than(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when the JSON document ``text`` nests more than ``limit`` levels deep.

    Text with fewer brackets than ``limit`` cannot be, and is not parsed; text that is not
    JSON is not nested at all.
    """
    if text.count("{") + text.count("[") <= limit:
        return False
    try:
        return deeper_than(json.loads(text), limit)
    except RecursionError:
        return True
    except ValueError:
        return False

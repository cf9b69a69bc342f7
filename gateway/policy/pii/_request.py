"""Every string of an OpenAI request body that would leave the gateway, found and rewritten.

``FIELDS`` holds the field rules, one row per body shape (a family names its row in
``Capabilities.pii``): what the PII step does with each field the client sent. The body is
forwarded as written (unknown fields included, apart from ``model``), so a field a row does
not name is checked like ``"*"``: its name and every string in its value, keys and numbers too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from gateway.policy.pii._errors import PiiUncheckableError

__all__ = [
    "FIELDS",
    "VOCABULARY",
    "Rule",
    "Slot",
    "SlotKind",
    "path",
    "slots",
    "split_data",
    "where",
]

# check: every string in the value is analysed (masked, redacted or refused by policy);
# check-json: a string holding a JSON document (tool-call arguments), keys and values analysed,
#   the document rebuilt when something is masked;
# check-data: base64 data, not analysed (not text; checksum-like runs in it would block
#   images); a data: URL's media type and a value that is not base64 are analysed as text;
# check-or-refuse: text is analysed; token ids cannot be read and are refused (400, naming
#   the field) unless the policy allows everything;
# not-text: the gateway replaces the value (model) or the wire model admits no free text.
Rule = Literal["check", "check-json", "check-data", "check-or-refuse", "not-text"]
SlotKind = Literal["text", "json", "data", "tree", "key"]
# Where a value is, built cheaply on the hot path: (where its container is, its key or index).
_Link = tuple["_Link", str | int] | None
# (container, key, kind, link): container[key] is the value (for "key": key itself is the
# text, a field name the table does not know); ``path(link)`` leads from the body to it.
Slot = tuple[Any, Any, SlotKind, _Link]

_NUMBERS: Final[Mapping[str, Rule]] = {
    name: "not-text"
    for name in (
        *("stream", "n", "max_tokens", "temperature", "top_p", "seed", "logprobs"),
        *("presence_penalty", "frequency_penalty"),
    )
}

FIELDS: Final[Mapping[str, Mapping[str, Rule]]] = {
    "chat.completions": {
        "model": "not-text",  # the router sends the deployment's model name instead
        **_NUMBERS,
        "max_completion_tokens": "not-text",
        "top_logprobs": "not-text",
        "parallel_tool_calls": "not-text",
        "messages[].role": "check",
        "messages[].name": "check",
        "messages[].content": "check",
        "messages[].content[].type": "check",
        "messages[].content[].text": "check",
        "messages[].content[].refusal": "check",
        "messages[].content[].image_url.url": "check-data",
        "messages[].content[].image_url.detail": "check",
        "messages[].content[].input_audio.data": "check-data",
        "messages[].content[].input_audio.format": "check",
        "messages[].content[].file.file_data": "check-data",
        "messages[].content[].file.filename": "check",
        "messages[].content[].file.file_id": "check",
        "messages[].tool_call_id": "check",
        "messages[].tool_calls[].id": "check",
        "messages[].tool_calls[].type": "check",
        "messages[].tool_calls[].function.name": "check",
        "messages[].tool_calls[].function.arguments": "check-json",
        "messages[].function_call.name": "check",
        "messages[].function_call.arguments": "check-json",
        "messages[].refusal": "check",
        "messages[].audio": "check",
        "tools[].type": "check",
        "tools[].function.name": "check",
        "tools[].function.description": "check",
        "tools[].function.parameters": "check",  # every key and string: enum values too
        "tools[].function.strict": "not-text",
        "functions[].name": "check",
        "functions[].description": "check",
        "functions[].parameters": "check",
        "tool_choice": "check",
        "function_call": "check",
        "response_format.type": "check",
        "response_format.json_schema.name": "check",
        "response_format.json_schema.description": "check",
        "response_format.json_schema.schema": "check",
        "response_format.json_schema.strict": "not-text",
        "prediction.type": "check",
        "prediction.content": "check",  # a string or text parts
        "stop": "check",
        "logit_bias": "check",  # keys are token ids written as strings
        "user": "check",
        "metadata": "check",
        "stream_options.include_usage": "not-text",
        "*": "check",
    },
    "completions": {
        "model": "not-text",
        **_NUMBERS,
        "best_of": "not-text",
        "echo": "not-text",
        "prompt": "check-or-refuse",
        "suffix": "check",
        "stop": "check",
        "logit_bias": "check",
        "user": "check",
        "stream_options.include_usage": "not-text",
        "*": "check",
    },
    "embeddings": {
        "model": "not-text",
        "input": "check-or-refuse",
        "encoding_format": "not-text",  # "float" or "base64", nothing else passes the wire model
        "dimensions": "not-text",
        "user": "check",
        "*": "check",
    },
}

# Words of the protocol and of JSON Schema: public constants, never personal data. Skipping
# them keeps roles, part types and tool schemas off the analyzer (NER costs per string).
VOCABULARY: Final = frozenset(
    {
        *("system", "developer", "user", "assistant", "tool", "function"),
        *("text", "image_url", "input_audio", "file", "refusal", "auto", "low", "high"),
        *("none", "required", "json_object", "json_schema", "content"),
        *("type", "name", "description", "parameters", "strict", "properties", "items"),
        *("enum", "additionalProperties", "object", "string", "number", "integer"),
        *("boolean", "array", "null", "schema", "title", "default", "format", "anyOf"),
    }
)

_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@dataclass(slots=True)
class _Node:
    rule: Rule = "check"
    children: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None
    skip: bool = False  # not-text with nothing under it: not even visited

    def at(self, segment: str) -> _Node:
        if segment == "[]":
            self.items = self.items or _Node()
            return self.items
        return self.children.setdefault(segment, _Node())


def _compile(table: Mapping[str, Rule]) -> _Node:
    root = _Node(rule=table["*"])
    for path, rule in table.items():
        if path == "*":
            continue
        node = root
        for segment in re.findall(r"\[\]|[^.\[\]]+", path):
            node = node.at(segment)
        node.rule = rule
    _mark(root)
    return root


def _mark(node: _Node) -> None:
    node.skip = node.rule == "not-text" and not node.children and node.items is None
    for child in (*node.children.values(), *([node.items] if node.items else [])):
        _mark(child)


_TREES: Final[Mapping[str, _Node]] = {name: _compile(table) for name, table in FIELDS.items()}
_INPUT_AS_SENT: Final = _compile({**FIELDS["embeddings"], "input": "not-text"})


def slots(fields: str, body: dict[str, Any], *, embeddings: bool = True) -> list[Slot]:
    """The places in ``body`` holding outgoing text, by the ``FIELDS`` row ``fields``.

    ``embeddings=False`` (the ``embeddings_input`` setting) leaves the embeddings row's
    ``input`` as sent. Raises ``PiiUncheckableError`` for token ids in a ``check-or-refuse``
    field, ``KeyError`` for a row ``FIELDS`` does not have (a family's mistake: fail closed).
    """
    found: list[Slot] = []
    tree = _INPUT_AS_SENT if fields == "embeddings" and not embeddings else _TREES[fields]
    _object(body, tree, None, found)
    return found


# Recursive on purpose: the body was decoded by msgspec, which refuses nesting deeper than
# Python's recursion limit allows here (RecursionError there and here is a 400).
def _object(obj: dict[str, Any], node: _Node, here: _Link, found: list[Slot]) -> None:
    children = node.children
    for name, value in obj.items():
        child = children.get(name)
        if child is None:
            _unknown(obj, name, value, here, found)
        elif type(value) is str and child.rule == "check":  # most fields: inlined
            if value not in VOCABULARY:
                found.append((obj, name, "text", (here, name)))
        elif not child.skip:
            _field(obj, name, value, child, here, found)


def _field(
    container: Any, key: Any, value: Any, node: _Node, parent: _Link, found: list[Slot]
) -> None:
    if node.children and type(value) is dict:
        _object(value, node, (parent, key), found)
    elif node.items is not None and type(value) is list:
        here = (parent, key)
        items = node.items
        for index, item in enumerate(value):
            if items.children and type(item) is dict:
                _object(item, items, (here, index), found)
            else:
                _field(value, index, item, items, here, found)
    elif type(value) is str and node.rule == "check":
        if value not in VOCABULARY:
            found.append((container, key, "text", (parent, key)))
    else:
        _apply(container, key, node.rule, value, (parent, key), found)


def _unknown(
    container: dict[str, Any], key: str, value: Any, parent: _Link, found: list[Slot]
) -> None:
    here = (parent, key)
    if key not in VOCABULARY:
        found.append((container, key, "key", here))
    _apply(container, key, "check", value, here, found)


def _apply(
    container: Any, key: Any, rule: Rule, value: Any, here: _Link, found: list[Slot]
) -> None:
    if rule == "not-text" or value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if value not in VOCABULARY:
            kind: SlotKind = (
                "json" if rule == "check-json" else "data" if rule == "check-data" else "text"
            )
            found.append((container, key, kind, here))
    elif rule == "check-or-refuse":
        if not isinstance(value, list):
            raise _uncheckable(here)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise _uncheckable((here, index))
            found.append((value, index, "text", (here, index)))
    else:
        found.append((container, key, "tree", here))


def split_data(value: str) -> tuple[str, str]:
    """(text to analyse, base64 payload left as it is) of a ``check-data`` value."""
    if value.startswith("data:"):
        comma = value.find(",")
        head = value[: comma + 1]
        if comma > 0 and head.endswith(";base64,") and _BASE64.fullmatch(value, comma + 1):
            return head, value[comma + 1 :]
        return value, ""
    if not value.isdigit() and _BASE64.fullmatch(value):
        return "", value
    return value, ""


def path(link: _Link) -> tuple[str | int, ...]:
    """The keys and indexes leading from the body to a slot's value, outermost first."""
    parts: list[str | int] = []
    while link is not None:
        link, part = link
        parts.append(part)
    return tuple(reversed(parts))


def where(link: _Link, fields: str | None) -> str | None:
    """``messages[0].content`` for the slot at ``body["messages"][0]["content"]``.

    Names stop at the last field the ``FIELDS`` row ``fields`` knows (none without a row): a
    name the client made up may itself be the personal data, and an error never repeats a value.
    """
    node: _Node | None = _TREES[fields] if fields is not None else None
    known: list[str | int] = []
    for part in path(link):
        if isinstance(part, int) and node is not None and node.items is not None:
            node = node.items
        elif isinstance(part, str) and node is not None and part in node.children:
            node = node.children[part]
        else:
            break
        known.append(part)
    return _format(known) or None


def _format(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _uncheckable(link: _Link) -> PiiUncheckableError:
    param = _format(path(link))  # a field of the table and indexes: no client-made name
    return PiiUncheckableError(
        f"'{param}' holds token ids, which cannot be checked for personal data; send text instead",
        param=param,
    )

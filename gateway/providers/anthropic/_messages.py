"""OpenAI chat ``messages`` -> Anthropic's top-level ``system`` and alternating ``messages``.

- ``system`` / ``developer`` messages, wherever they are, become ``system`` blocks, in order.
- ``user`` parts: ``text``; ``image_url`` as a base64 source (``data:`` URL) or a url source.
- ``assistant`` text and ``tool_calls`` become ``text`` and ``tool_use`` blocks (arguments parsed
  into ``input``); ``tool`` messages become ``tool_result`` blocks in a user turn.
- An assistant's earlier reasoning comes back as Anthropic requires it in a tool loop:
  ``reasoning_content`` with its ``reasoning_signature`` is a leading ``thinking`` block and each
  ``redacted_reasoning`` entry a ``redacted_thinking`` block. Reasoning without a signature
  (another provider's, or one a client rewrote) is not sent: Anthropic refuses it unsigned.
- Consecutive turns of one Anthropic role merge, since Anthropic requires them to alternate.
- What cannot be expressed raises ``InvalidRequestError`` naming the field.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.platform.errors import InvalidRequestError

__all__ = ["translate_messages"]

Block = dict[str, Any]
Turn = dict[str, Any]

_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def translate_messages(messages: Any) -> tuple[list[Block], list[Turn]]:
    """``(system blocks, turns)`` for an OpenAI ``messages`` array."""
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("'messages' must be a non-empty array", param="messages")
    system: list[Block] = []
    turns: list[Turn] = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InvalidRequestError(f"{param} must be an object", param=param)
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_blocks(message.get("content"), f"{param}.content"))
            continue
        if role == "user":
            anthropic_role, blocks = (
                "user",
                _blocks(message.get("content"), f"{param}.content", allow_images=True),
            )
        elif role == "assistant":
            anthropic_role, blocks = "assistant", _assistant_blocks(message, param)
        elif role == "tool":
            anthropic_role, blocks = "user", [_tool_result(message, param)]
        elif role == "function":
            raise InvalidRequestError(
                "legacy 'function' messages are not supported for Anthropic models; "
                "use 'tool' messages",
                param=f"{param}.role",
            )
        else:
            raise InvalidRequestError(f"{param}.role {role!r} is not supported", param=param)
        if not blocks:
            if anthropic_role == "assistant":
                continue  # an empty assistant turn carries nothing to send
            raise InvalidRequestError(f"{param} has empty content", param=f"{param}.content")
        if turns and turns[-1]["role"] == anthropic_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": anthropic_role, "content": blocks})
    return system, turns


def _blocks(content: Any, param: str, *, allow_images: bool = False) -> list[Block]:
    """A string or an array of parts; images only where OpenAI allows them (user turns)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequestError(f"{param} must be a string or an array of parts", param=param)
    blocks: list[Block] = []
    for j, part in enumerate(content):
        block = _part(part, f"{param}[{j}]", allow_images=allow_images)
        if block is not None:
            blocks.append(block)
    return blocks


def _part(part: Any, param: str, *, allow_images: bool) -> Block | None:
    if not isinstance(part, dict):
        raise InvalidRequestError(f"{param} must be an object", param=param)
    kind = part.get("type")
    block: Block
    if kind in ("text", "refusal"):
        text = part.get(kind)
        if not isinstance(text, str):
            raise InvalidRequestError(f"{param}.{kind} must be a string", param=f"{param}.{kind}")
        if not text:
            return None  # Anthropic rejects empty text blocks; an empty part says nothing
        block = {"type": "text", "text": text}
    elif kind == "image_url" and allow_images:
        block = _image(part.get("image_url"), f"{param}.image_url")
    else:
        where = "here" if kind == "image_url" else "for Anthropic models"
        raise InvalidRequestError(
            f"content part type {kind!r} is not supported {where}", param=f"{param}.type"
        )
    if "cache_control" in part:  # Anthropic prompt caching, passed through as given
        block["cache_control"] = part["cache_control"]
    return block


def _image(image_url: Any, param: str) -> Block:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        raise InvalidRequestError(f"{param}.url must be a non-empty string", param=f"{param}.url")
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not data:
            raise InvalidRequestError(
                f"{param}.url must be a base64 data URL (data:<media type>;base64,<data>)",
                param=f"{param}.url",
            )
        if media_type not in _IMAGE_MEDIA_TYPES:
            raise InvalidRequestError(
                f"image media type {media_type!r} is not supported for Anthropic models "
                f"(use one of {', '.join(sorted(_IMAGE_MEDIA_TYPES))})",
                param=f"{param}.url",
            )
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequestError(
        f"{param}.url must be an http(s) URL or a base64 data URL", param=f"{param}.url"
    )


def _assistant_blocks(message: dict[str, Any], param: str) -> list[Block]:
    blocks = _reasoning_blocks(message, param)
    blocks.extend(_blocks(message.get("content"), f"{param}.content"))
    tool_calls = message.get("tool_calls")
    if tool_calls is None:
        return blocks
    if not isinstance(tool_calls, list):
        raise InvalidRequestError(
            f"{param}.tool_calls must be an array", param=f"{param}.tool_calls"
        )
    for j, call in enumerate(tool_calls):
        blocks.append(_tool_use(call, f"{param}.tool_calls[{j}]"))
    return blocks


def _reasoning_blocks(message: dict[str, Any], param: str) -> list[Block]:
    text, signature = message.get("reasoning_content"), message.get("reasoning_signature")
    redacted = message.get("redacted_reasoning")
    if text is not None and not isinstance(text, str):
        raise InvalidRequestError(
            f"{param}.reasoning_content must be a string", param=f"{param}.reasoning_content"
        )
    if signature is not None and not isinstance(signature, str):
        raise InvalidRequestError(
            f"{param}.reasoning_signature must be a string", param=f"{param}.reasoning_signature"
        )
    if redacted is not None and not (
        isinstance(redacted, list) and all(isinstance(data, str) and data for data in redacted)
    ):
        raise InvalidRequestError(
            f"{param}.redacted_reasoning must be an array of non-empty strings",
            param=f"{param}.redacted_reasoning",
        )
    blocks: list[Block] = []
    if signature:  # the thinking may be empty (display omitted); the signature covers it
        blocks.append({"type": "thinking", "thinking": text or "", "signature": signature})
    blocks.extend({"type": "redacted_thinking", "data": data} for data in redacted or ())
    return blocks


def _tool_use(call: Any, param: str) -> Block:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise InvalidRequestError(f"{param} must be a function tool call", param=param)
    call_id, function = call.get("id"), call["function"]
    name, arguments = function.get("name"), function.get("arguments")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequestError(f"{param}.id must be a non-empty string", param=f"{param}.id")
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(
            f"{param}.function.name must be a non-empty string", param=f"{param}.function.name"
        )
    return {"type": "tool_use", "id": call_id, "name": name, "input": _arguments(arguments, param)}


def _arguments(arguments: Any, param: str) -> dict[str, Any]:
    param = f"{param}.function.arguments"
    if arguments is None or arguments == "":
        return {}  # some models emit no arguments for parameterless functions
    if not isinstance(arguments, str):
        raise InvalidRequestError(f"{param} must be a JSON string", param=param)
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(f"{param} is not valid JSON: {exc}", param=param) from exc
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{param} must encode a JSON object", param=param)
    return value


def _tool_result(message: dict[str, Any], param: str) -> Block:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequestError(
            f"{param}.tool_call_id must be a non-empty string", param=f"{param}.tool_call_id"
        )
    block: Block = {"type": "tool_result", "tool_use_id": call_id}
    content = message.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
    else:
        parts = _blocks(content, f"{param}.content")
        if parts:
            block["content"] = parts
    return block

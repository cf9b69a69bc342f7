"""Request bodies: decoded once to plain dicts, checked against the wire models, and errors
phrased the way OpenAI phrases them (with ``param`` naming the field).

The wire models (msgspec Structs in each ``protocol.py``) list the fields the gateway
understands and their types; unknown fields are allowed and passed on unchanged. The
check converts a copy and throws it away: the request forwarded is the client's dict.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

import msgspec

from gateway.platform.errors import InvalidRequestError

__all__ = ["decode_object", "json_type", "undecodable", "validate"]

_decode = msgspec.json.Decoder().decode

_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_TYPE = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_ARTICLE = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


def decode_object(raw: bytes) -> dict[str, Any]:
    """The body as a dict; 400 with a precise message when it is not a JSON object."""
    if not raw:
        raise InvalidRequestError(
            "the request body is empty; send a JSON object", code="invalid_json"
        )
    try:
        body = _decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(
            f"the request body is not valid JSON ({exc})", code="invalid_json"
        ) from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise undecodable(exc) from exc
    if not isinstance(body, dict):
        raise InvalidRequestError(
            f"the request body must be a JSON object, not {json_type(body)}",
            code="invalid_json",
        )
    return body


def undecodable(exc: UnicodeDecodeError | RecursionError) -> InvalidRequestError:
    """The 400 for the two ways msgspec fails outside ``DecodeError``.

    It checks UTF-8 only when it builds a str (``UnicodeDecodeError``) and refuses deeply
    nested JSON with ``RecursionError``; neither is the server's fault.
    """
    if isinstance(exc, UnicodeDecodeError):
        return InvalidRequestError(
            f"the request body is not valid UTF-8 (byte {exc.start})", code="invalid_json"
        )
    return InvalidRequestError("the request body is nested too deeply", code="invalid_json")


def validate(body: dict[str, Any], model: type[msgspec.Struct]) -> None:
    """400 naming the first field whose type or value is wrong."""
    try:
        msgspec.convert(body, model)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from exc


def _invalid(text: str) -> InvalidRequestError:
    path = ""
    at = _AT.search(text)
    if at is not None:
        path = at.group("path")
        text = text[: at.start()]
    if (missing := _MISSING.match(text)) is not None:
        param = f"{path}.{missing.group('field')}" if path else missing.group("field")
        return InvalidRequestError(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    param = path or None
    if (wrong := _TYPE.match(text)) is not None:
        want = _describe_type(wrong.group("want"))
        got = _describe_type(wrong.group("got"))
        return InvalidRequestError(
            f"Invalid type for '{path}': expected {want}, but got {got} instead.",
            param=param,
            code="invalid_type",
        )
    where = f"'{path}'" if path else "the request"
    return InvalidRequestError(
        f"Invalid value for {where}: {text}.", param=param, code="invalid_value"
    )


def _describe_type(name: str) -> str:
    return " or ".join(_ARTICLE.get(part, f"`{part}`") for part in name.split(" | "))


def json_type(value: object) -> str:
    """How an error message names the JSON type of a decoded value (objects excepted)."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def refuse_type(
    param: str,
    kind: Any,
    what: str,
    known: tuple[str, ...],
    *,
    unsupported: frozenset[str] = frozenset(),
    elsewhere: frozenset[str] = frozenset(),
    owner: str | None = None,
) -> NoReturn:
    """The 400 for a ``type`` a union does not take at ``param``: missing, one this gateway
    does not support yet (``unsupported``), one that belongs elsewhere (``elsewhere``, e.g. a
    block of another role's content, in ``owner``), or an unknown one."""
    expected = ", ".join(repr(k) for k in known)
    if kind is None:
        raise InvalidRequestError(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    if isinstance(kind, str) and kind in elsewhere:
        raise InvalidRequestError(
            f"Invalid value for '{param}': {what}s of type {kind!r} cannot appear in "
            f"{owner or 'this'} content; expected one of {expected}.",
            param=param,
            code="invalid_value",
        )
    if isinstance(kind, str) and kind in unsupported:
        raise InvalidRequestError(
            f"Invalid value for '{param}': {what}s of type {kind!r} are not supported by "
            f"this gateway yet; expected one of {expected}.",
            param=param,
            code="unsupported_value",
        )
    shown = repr(kind) if isinstance(kind, str) else "a non-string value"
    raise InvalidRequestError(
        f"Invalid value for '{param}': {shown} is not a known {what} type; "
        f"expected one of {expected}.",
        param=param,
        code="invalid_value",
    )

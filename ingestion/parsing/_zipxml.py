"""XML inside zip packages (XLSX, ODS, ODT, EPUB), read safely.

The package has passed ``check_zip_expansion`` first (no zip bombs); each member is parsed
by defusedxml (in the lock through python-oxmsg, unstructured's MSG reader), which refuses
entity declarations and external references (no XXE, no billion laughs).
Any defect of the package is a ``DocumentRejectedError`` naming the file and the member.
"""

from __future__ import annotations

import zipfile
from typing import Any

from ingestion.errors import DocumentRejectedError

__all__ = ["attribute", "local_name", "member_names", "odf_text", "read_xml", "repeat_count"]


def member_names(archive: zipfile.ZipFile) -> set[str]:
    return {info.filename for info in archive.infolist()}


def read_xml(archive: zipfile.ZipFile, member: str, *, filename: str, kind: str) -> Any:
    """The root element of ``member``; a missing or malformed member rejects the file."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    try:
        data = archive.read(member)
    except KeyError as exc:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} could not be parsed as {kind}: no {member} in it"
        ) from exc
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} could not be parsed as {kind}: {member} is damaged"
        ) from exc
    try:
        return fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise DocumentRejectedError(
            "invalid_file",
            f"{filename!r} could not be parsed as {kind}: {member} is not well-formed XML "
            f"({str(exc)[:120]})",
        ) from exc


def local_name(element: Any) -> str:
    """An element's tag without its namespace ("" for comments and processing instructions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def repeat_count(element: Any, name: str) -> int:
    try:
        return max(1, int(attribute(element, name) or 1))
    except ValueError:
        return 1


def attribute(element: Any, name: str) -> str:
    for key, value in element.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return str(value)
    return ""


def odf_text(element: Any) -> str:
    """OpenDocument text of an element: ``<text:s/>`` spaces, tabs and line breaks kept."""
    parts: list[str] = [element.text or ""]
    for child in element:
        name = local_name(child)
        if name == "s":
            parts.append(" " * min(repeat_count(child, "c"), 100))
        elif name in ("tab", "line-break"):
            parts.append(" ")
        elif name not in ("note", "annotation"):
            parts.append(odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)

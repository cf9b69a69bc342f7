"""E-mail (EML, Outlook MSG): the message and its attachments, as one document.

The message gives a header element (subject, sender and date only: recipients are not
indexed) and its body (plain text, else HTML). Each attachment is parsed by its own type,
through the same parser (so a DOCX attachment is checked for zip bombs, a PDF for pages,
an attached e-mail for its own attachments), and its elements' sections start with
``attachment <name>``. Attachments are bounded by ``AttachmentLimits``: nesting depth,
count and total bytes per file; one past a limit, of a type ragway does not read, or that
fails to parse is skipped (logged), and the message is still ingested.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path, PurePath
from typing import Any

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._base import Element

__all__ = ["AttachmentBudget", "AttachmentLimits", "read_eml", "read_msg"]

_log = logging.getLogger(__name__)

HtmlElements = Callable[[str], list[Element]]
ParseAttachment = Callable[[Path, str, "AttachmentBudget"], list[Element]]
"""Parse a file saved from an attachment (by its name's type) one level deeper."""


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """Per uploaded file: how deep attachments nest, how many and how many bytes in all."""

    max_depth: int = 2
    max_count: int = 50
    max_total_bytes: int = 64 * 1024 * 1024


@dataclass(slots=True)
class _Spent:
    count: int = 0
    total_bytes: int = 0


@dataclass(frozen=True, slots=True)
class AttachmentBudget:
    """The limits, this level's depth, and what every level of the file has spent."""

    limits: AttachmentLimits
    depth: int = 0
    spent: _Spent = dataclasses.field(default_factory=_Spent)

    def deeper(self) -> AttachmentBudget:
        return dataclasses.replace(self, depth=self.depth + 1)

    def refusal(self, size: int) -> str | None:
        """Why an attachment of ``size`` bytes is skipped; None after spending on it."""
        limits = self.limits
        if self.depth >= limits.max_depth:
            return f"attachments nest deeper than {limits.max_depth} (max_attachment_depth)"
        if self.spent.count >= limits.max_count:
            return f"more than {limits.max_count} attachments (max_attachments)"
        if self.spent.total_bytes + size > limits.max_total_bytes:
            return f"attachments over {limits.max_total_bytes} bytes in all (max_attachment_bytes)"
        self.spent.count += 1
        self.spent.total_bytes += size
        return None


def read_eml(
    path: Path,
    *,
    filename: str,
    html: HtmlElements,
    parse: ParseAttachment,
    budget: AttachmentBudget,
) -> list[Element]:
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
        raise DocumentRejectedError("invalid_file", f"{filename!r} is not an e-mail message")
    elements = _header(message.get("subject"), message.get("from"), message.get("date"))
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        text = _content(body)
        if body.get_content_type() == "text/html":
            elements.extend(html(text))
        else:
            elements.extend(_paragraphs(text))
    attachments = ((name, data) for name, data in _eml_attachments(message))
    elements.extend(_attachments(attachments, filename=filename, parse=parse, budget=budget))
    return elements


def read_msg(
    path: Path,
    *,
    filename: str,
    html: HtmlElements,
    parse: ParseAttachment,
    budget: AttachmentBudget,
) -> list[Element]:
    from oxmsg import Message

    try:
        message = Message.load(str(path))
        sent = message.sent_date
        elements = _header(
            _unpadded(message.subject),
            _unpadded(message.sender),
            sent.isoformat() if sent else None,
        )
        body = _unpadded(message.body)
        if body.strip():
            elements.extend(_paragraphs(body))
        elif message.html_body:
            elements.extend(html(_unpadded(message.html_body)))
        attachments = [
            (_unpadded(attachment.file_name), attachment.file_bytes or b"")
            for attachment in message.attachments
            if attachment.file_bytes  # an embedded message or a link has none
        ]
    except DocumentRejectedError:
        raise
    except Exception as exc:  # oxmsg and olefile raise many kinds on damaged files
        raise DocumentRejectedError(
            "invalid_file",
            f"{filename!r} could not be parsed as msg: {type(exc).__name__}: {str(exc)[:200]}",
        ) from exc
    elements.extend(_attachments(iter(attachments), filename=filename, parse=parse, budget=budget))
    return elements


def _unpadded(text: str | None) -> str:
    """MSG strings as some writers store them: with their NUL terminator."""
    return (text or "").replace("\x00", "")


def _header(subject: Any, sender: Any, date: Any) -> list[Element]:
    lines = [
        f"{label}: {' '.join(str(value).split())}"
        for label, value in (("Subject", subject), ("From", sender), ("Date", date))
        if value
    ]
    return [Element(text="\n".join(lines), kind="EmailHeader")] if lines else []


def _paragraphs(text: str) -> list[Element]:
    blocks = (" ".join(block.split()) for block in text.replace("\r\n", "\n").split("\n\n"))
    return [Element(text=block, kind="NarrativeText") for block in blocks if block]


def _content(part: Any) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset, bad encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _eml_attachments(message: EmailMessage) -> Iterator[tuple[str, bytes]]:
    for part in message.iter_attachments():
        if not isinstance(part, EmailMessage):  # pragma: no cover - policy.default
            continue
        name = part.get_filename() or ""
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, email.message.Message):
                name = name or "attached message"
                yield name if name.lower().endswith(".eml") else f"{name}.eml", inner.as_bytes()
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            yield name, payload


def _attachments(
    attachments: Iterator[tuple[str, bytes]],
    *,
    filename: str,
    parse: ParseAttachment,
    budget: AttachmentBudget,
) -> list[Element]:
    elements: list[Element] = []
    with tempfile.TemporaryDirectory(prefix="ragway-attachments-") as folder:
        for number, (raw_name, data) in enumerate(attachments, start=1):
            name = PurePath(raw_name.replace("\\", "/")).name.strip() or f"attachment {number}"
            refusal = budget.refusal(len(data))
            if refusal is not None:
                _log.warning("%r: attachment %r skipped: %s", filename, name, refusal)
                continue
            saved = Path(folder) / f"{number}{PurePath(name).suffix.lower()}"
            saved.write_bytes(data)
            try:
                found = parse(saved, name, budget.deeper())
            except DocumentRejectedError as exc:
                _log.warning("%r: attachment %r skipped: %s", filename, name, exc.message)
                continue
            finally:
                saved.unlink(missing_ok=True)
            prefix = f"attachment {name}"
            elements.extend(
                dataclasses.replace(
                    element,
                    section=f"{prefix} > {element.section}" if element.section else prefix,
                )
                for element in found
            )
    return elements

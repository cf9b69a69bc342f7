"""Source code split at its top-level definitions, the language in each section.

Python is split with :mod:`ast` (each top-level function or class with its decorators and
the comments right above it); other languages by a line at column 0 that opens a
definition in that language (``func``, ``fn``, ``class``, a C function signature, ...).
What comes before the first definition (imports, module docs) is a block of its own.
Each block's section is ``"<language> > <its first line>"`` (just the language for the
preamble), so a search hit says where in the file it is; lines are kept as written.
"""

from __future__ import annotations

import ast
import itertools
import re
import warnings
from pathlib import Path

from ingestion.errors import DocumentRejectedError
from ingestion.parsing._base import Element
from ingestion.parsing._languages import code_language

__all__ = ["read_code"]

_C_LIKE = (
    r"^(?:(?:struct|class|enum|union|namespace|typedef|template)\b"
    r"|[A-Za-z_][\w\s\*&:<>,~]*\([^;]*$)"
)
_JS = (
    r"^(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?"
    r"(?:function\*?|class|const|let|var|interface|type|enum|namespace)\b"
)
_JVM = (
    r"^(?:@\w+\s*)*(?:(?:public|private|protected|internal|abstract|final|sealed|static|"
    r"open|data|partial|case)\s+)*(?:class|interface|enum|record|object|struct|fun|def|trait)\b"
)
_DEFINITIONS = {
    "go": r"^(?:func|type|var|const)\b",
    "rust": (
        r"^(?:#\[.*\]\s*)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\S+\s+)?"
        r"(?:fn|struct|enum|trait|impl|mod|type|const|static|union|macro_rules!)\W"
    ),
    "javascript": _JS,
    "typescript": _JS,
    "java": _JVM,
    "kotlin": _JVM,
    "scala": _JVM,
    "csharp": _JVM,
    "swift": (
        r"^(?:(?:public|private|open|final)\s+)*(?:func|class|struct|enum|protocol|extension)\b"
    ),
    "c": _C_LIKE,
    "cpp": _C_LIKE,
    "ruby": r"^(?:def|class|module)\b",
    "php": r"^(?:(?:abstract|final)\s+)?(?:function|class|interface|trait|enum)\b",
    "shell": r"^(?:function\s+\w+|\w+\s*\(\)\s*\{?)",
    "lua": r"^(?:local\s+)?function\b",
    "sql": r"^(?:create|alter|insert|update|delete|select|with|drop)\b",
    "python": r"^(?:async\s+def|def|class)\b",
}
_COMMENT = re.compile(r"^\s*(?://|#|/\*|\*|--|@)")
_NAME_CHARS = 80


def read_code(path: Path, *, filename: str) -> list[Element]:
    try:
        source = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} is not UTF-8 source code"
        ) from exc
    language = code_language(filename)
    lines = source.splitlines()
    starts = _python_starts(source) if language == "python" else None
    if starts is None:
        pattern = _DEFINITIONS.get(language)
        starts = (
            _pattern_starts(lines, re.compile(pattern, re.IGNORECASE if language == "sql" else 0))
            if pattern
            else []
        )
    elements: list[Element] = []
    bounds = [0, *sorted(set(s for s in starts if 0 < s < len(lines))), len(lines)]
    for begin, end in itertools.pairwise(bounds):
        block = "\n".join(lines[begin:end]).strip("\n")
        if not block.strip():
            continue
        title = _title(lines[begin:end]) if begin or 0 in starts else None
        section = f"{language} > {title}" if title else language
        elements.append(Element(text=block, kind="CodeSnippet", section=section))
    return elements


def _python_starts(source: str) -> list[int] | None:
    """0-based first lines of top-level definitions (with decorators and comments above);
    None when the file does not parse as Python 3 (split by pattern instead)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = source.splitlines()
    starts = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            starts.append(_with_comments(lines, first))
    return starts


def _pattern_starts(lines: list[str], pattern: re.Pattern[str]) -> list[int]:
    return [_with_comments(lines, n) for n, line in enumerate(lines) if pattern.match(line)]


def _with_comments(lines: list[str], start: int) -> int:
    """Move a definition's start up over the comment lines right above it."""
    while start > 0 and lines[start - 1].strip() and _COMMENT.match(lines[start - 1]):
        start -= 1
    return start


def _title(block: list[str]) -> str | None:
    for line in block:
        stripped = line.strip()
        if stripped and not _COMMENT.match(line):
            return stripped[:_NAME_CHARS]
    return None

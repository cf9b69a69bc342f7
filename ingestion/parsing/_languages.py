"""Source-code file extensions and the language each one names."""

from __future__ import annotations

from pathlib import PurePath

__all__ = ["CODE_LANGUAGES", "code_language"]

CODE_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".scala": "scala",
    ".cs": "csharp",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".sh": "shell",
    ".bash": "shell",
    ".sql": "sql",
    ".lua": "lua",
}
"""Extension (lower case, with its dot) to language name."""


def code_language(filename: str) -> str:
    """The language of a source file, by its extension ("text" when unknown)."""
    return CODE_LANGUAGES.get(PurePath(filename).suffix.lower(), "text")

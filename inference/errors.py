"""The inference package's exception tree; callers translate it at their boundary."""

from __future__ import annotations

__all__ = [
    "BackendError",
    "InferenceError",
    "ManifestError",
    "RequestError",
    "ServerBusyError",
]


class InferenceError(Exception):
    """Base of every error raised by ``inference``."""


class ManifestError(InferenceError):
    """The model manifest cannot be used; the message names the file, model and key."""


class BackendError(InferenceError):
    """A serving backend could not start or keep running (vLLM missing, never healthy)."""


class RequestError(InferenceError):
    """A request a model cannot serve as asked (too long, unsupported option, unknown model).

    ``param`` names the offending request field, as OpenAI's error shape reports it.
    """

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class ServerBusyError(InferenceError):
    """More requests are waiting than the server is configured to queue."""

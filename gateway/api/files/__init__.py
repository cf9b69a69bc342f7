"""The OpenAI Files API: uploads streamed into object storage, for document collections."""

from __future__ import annotations

from gateway.api.files._quota import MemberQuota
from gateway.api.files.controller import FilesController
from gateway.api.files.serving import FileService, require_admin

__all__ = ["FileService", "FilesController", "MemberQuota", "require_admin"]

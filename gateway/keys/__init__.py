"""API keys: generation, hashing, the start-up admin key and the service that manages keys."""

from __future__ import annotations

from gateway.keys._bootstrap import BootstrapResult, ensure_admin_key
from gateway.keys._model import CreatedKey, KeyCreate, KeyRecord, KeyUpdate
from gateway.keys._secrets import KEY_PREFIX, NewKey, display_prefix, hash_key, new_key
from gateway.keys._service import (
    KEY_COLUMNS,
    KeyEvents,
    KeyNotFoundError,
    KeyService,
    record_from_row,
)

__all__ = [
    "KEY_COLUMNS",
    "KEY_PREFIX",
    "BootstrapResult",
    "CreatedKey",
    "KeyCreate",
    "KeyEvents",
    "KeyNotFoundError",
    "KeyRecord",
    "KeyService",
    "KeyUpdate",
    "NewKey",
    "display_prefix",
    "ensure_admin_key",
    "hash_key",
    "new_key",
    "record_from_row",
]
